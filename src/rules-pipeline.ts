/**
 * The part of a broker its rules files decide, compiled from one load of them and swapped as a whole on a reload:
 * the views (masking and budgets included) and the compliance gate, with the setup they were compiled from.
 */
import { recordRulesVersion } from './audit/rules-versions.ts';
import type { ZonesInForce } from './agent-controls/zones/index.ts';
import { zonedPrivacy } from './agent-controls/zones/index.ts';
import { type ComplianceGate, makeComplianceGate, withheldJurisdictions } from './compliance/index.ts';
import { type BrokerSecrets, ConfigError, type ConfigIssue, formatIssue, type ProjectConfig } from './config/index.ts';
import { BudgetLedger } from './dp/ledger.ts';
import { dpAggregateExtension, heAggregateExtension, ViewSchemaCache } from './graphql/index.ts';
import { following, type InForce } from './in-force.ts';
import type { Log } from './log.ts';
import { loadRulesSetup, type RulesSetup } from './rules-setup.ts';
import type { Db } from './sql/index.ts';

export interface RulesPipeline extends RulesSetup {
  /** The stored rules version (rules_versions id) this pipeline serves under. */
  version: number;
  views: ViewSchemaCache;
  complianceGate: ComplianceGate;
  /** The DP budget limits in force (zones applied); null when no agent may spend. */
  ledger: BudgetLedger | null;
}

export interface PipelineParts {
  subjectKey: Uint8Array;
  /** The zones in force, which outlive every pipeline (they follow the registry in force: src/agent-controls/zones). */
  zones: () => ZonesInForce;
}

export function buildRulesPipeline(setup: RulesSetup, version: number, parts: PipelineParts): RulesPipeline {
  const { config, masking, jurisdictions } = setup;
  const privacy = config.policies.privacy && zonedPrivacy(config.policies.privacy, (agentId) => parts.zones().zoneOfAgent(agentId));
  // The ledger keeps no spend of its own (dp_budget holds it): a new one per pipeline only brings the new limits.
  const ledger = privacy ? new BudgetLedger(privacy, config.catalog.dataset) : null;
  const views = new ViewSchemaCache({
    config,
    subjectKey: parts.subjectKey,
    decider: masking.decider,
    extensions: [
      dpAggregateExtension({ catalog: config.catalog, ledger }),
      heAggregateExtension({
        lookup: (name) => config.catalog.tables.get(name)!,
        ledger,
      }),
    ],
    withhold: (agent, classes) => withheldJurisdictions(agent, jurisdictions, classes),
    zoneOf: (agent) => parts.zones().zoneOf(agent),
  });
  return { ...setup, version, views, ledger, complianceGate: makeComplianceGate({ rules: jurisdictions, catalog: config.catalog }) };
}

/**
 * The project config of the pipeline in force, for consumers that keep the object they are given (the officer
 * routes, the agent registry of identity): each property, and the registry's and catalog's, read per request.
 */
export function configFollowing(pipelines: InForce<RulesPipeline>): ProjectConfig {
  const current = () => pipelines.current.config;
  const registry = following(() => current().registry);
  const catalog = following(() => current().catalog);
  return {
    get root() {
      return current().root;
    },
    registry,
    catalog,
    get policies() {
      return current().policies;
    },
  };
}

export interface RulesReloadOptions {
  root: string;
  db: Db;
  secrets: BrokerSecrets;
  env: NodeJS.ProcessEnv;
  log: Log;
  pipelines: InForce<RulesPipeline>;
  /** Readies what outlives a pipeline (zones, baselines) for a setup about to be put in force. */
  follow: (setup: RulesSetup) => Promise<void>;
  build: (setup: RulesSetup, version: number) => RulesPipeline;
  /** The problems of the files on disk after this attempt: those of a refused edit, or none. */
  onProblems: (problems: readonly ConfigIssue[]) => void;
}

/**
 * One reload of every rules file, checked across files exactly as a start checks them. Only a setup that loads
 * whole is stored and audited as a rules version, then put in force; anything wrong leaves the pipeline in force.
 */
export async function reloadRules(options: RulesReloadOptions): Promise<void> {
  const previous = options.pipelines.latest;
  try {
    const setup = await loadRulesSetup(options.root, options.secrets, options.env);
    if (setup.rules.hash !== previous.rules.hash) {
      await options.follow(setup);
      const recorded = await recordRulesVersion(options.db, options.secrets.auditKey, setup.rules);
      options.pipelines.replace(options.build(setup, recorded.id));
      options.log({ level: 'info', msg: 'rules reloaded', rulesVersion: recorded.id, previous: previous.version, hash: recorded.hash });
    }
    options.onProblems([]);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.issues : [{ file: 'schema', line: 0, field: '', message: String(error) }];
    options.log({ level: 'warn', msg: 'rules rejected; the rules in force stay', rulesVersion: previous.version, problems: problems.map(formatIssue) });
    options.onProblems(problems);
  }
}
