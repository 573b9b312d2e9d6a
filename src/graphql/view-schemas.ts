import { type AgentDefinition, policyKey, type ProjectConfig, type ZoneRules } from '../config/index.ts';
import type { AgentPrincipal } from '../identity/index.ts';
import { buildView, delegationKey, delegationRefusal, type ExposureDecider, type View, viewKey, type WithholdDecider } from '../policy/index.ts';
import { refusal } from '../request/refusals.ts';
import { buildViewSchema, type ViewSchema, type ViewSchemaExtension } from './schema.ts';

export interface CompiledView extends ViewSchema {
  view: View;
}

/** The security zone an agent's requests are served in now (src/agent-controls/zones: the stricter of asked and approved). */
export type ZoneOf = (agent: AgentDefinition) => ZoneRules;

/**
 * Delegated views kept: one per agent, purpose and distinct values of the claims the policy names (people of one
 * region and role share one), least recently used out first, so a stream of distinct claims cannot grow memory.
 */
export const DELEGATED_VIEWS_KEPT = 256;

/**
 * Views and their schemas are compiled once per (agent, purpose, zone, rules version) and reused: a request
 * only looks its view up. A new rules version (hot reload) or an approved zone change simply misses the cache.
 * An agent acting for a person gets a view of its own per value of the person's claims the policy names: the
 * view binds them into its row filters and read plans, so one person's plan can never serve another's request.
 */
export class ViewSchemaCache {
  private readonly cache = new Map<string, CompiledView>();
  private readonly delegated = new Map<string, CompiledView>();
  /** State-writing root fields of every view compiled so far: one named alike in another view only adds a transaction. */
  private readonly statefulFields = new Set<string>();
  private readonly config: ProjectConfig;
  private readonly subjectKey: Uint8Array;
  private readonly extensions: readonly ViewSchemaExtension[];
  private readonly withhold: WithholdDecider | undefined;
  private readonly zoneOf: ZoneOf;
  private decider: { decide: ExposureDecider; version: string };

  constructor(options: {
    config: ProjectConfig;
    subjectKey: Uint8Array;
    decider: { decide: ExposureDecider; version: string };
    extensions?: readonly ViewSchemaExtension[];
    withhold?: WithholdDecider;
    /** Absent: the zone agents.yaml asks for (tools and benchmarks without a database of zones in force). */
    zoneOf?: ZoneOf;
  }) {
    this.config = options.config;
    this.subjectKey = options.subjectKey;
    this.decider = options.decider;
    this.extensions = options.extensions ?? [];
    this.withhold = options.withhold;
    this.zoneOf = options.zoneOf ?? ((agent) => options.config.registry.zones[agent.zone]);
  }

  /** Swaps in a new set of masking decisions (e.g. after `masking-rules/` changed). */
  setDecider(decider: { decide: ExposureDecider; version: string }): void {
    this.decider = decider;
    this.cache.clear();
    this.delegated.clear();
  }

  /** The principal's compiled view; throws DELEGATION_REQUIRED or DELEGATION_CLAIM_MISSING when its policy refuses it. */
  get(principal: AgentPrincipal): CompiledView {
    const zone = this.zoneOf(principal.agent);
    const person = principal.onBehalfOf;
    const policy = this.config.policies.byRolePurpose.get(policyKey(principal.agent.role, principal.purpose));
    const refused = delegationRefusal(policy, person);
    if (refused) throw refusal(refused.code, refused.message);
    const key = viewKey(principal.agent, principal.purpose, zone, this.decider.version, person && delegationKey(policy?.delegation, person));
    const cache = person ? this.delegated : this.cache;
    let compiled = cache.get(key);
    if (compiled && person) {
      cache.delete(key);
      cache.set(key, compiled);
    }
    if (!compiled) {
      const view = buildView(this.config, principal.agent, principal.purpose, this.decider.decide, this.decider.version, this.withhold, zone, person);
      const schema = buildViewSchema(view, {
        lookup: (name) => this.config.catalog.tables.get(name)!,
        subjectKey: this.subjectKey,
        extensions: this.extensions,
      });
      compiled = { view, ...schema };
      for (const field of schema.statefulFields) this.statefulFields.add(field);
      cache.set(key, compiled);
      if (this.delegated.size > DELEGATED_VIEWS_KEPT) this.delegated.delete(this.delegated.keys().next().value!);
    }
    return compiled;
  }

  /**
   * Whether a root field writes state, as the schema extension that adds it declares. A request's view is compiled
   * (its schema chosen) before it executes, so every field it can select is known here by then.
   */
  writesState(rootField: string): boolean {
    return this.statefulFields.has(rootField);
  }
}
