import type {
  AgentDefinition,
  TagClass,
  CatalogColumn,
  CatalogRelation,
  CatalogTable,
  ColumnCondition,
  Operand,
  ProjectConfig,
  RequestCaps,
  TablePolicy,
  UntrustedTextPolicy,
  ZoneRules,
} from '../config/index.ts';
import { DEFAULT_UNTRUSTED_TEXT, policyKey } from '../config/index.ts';
import { type FieldCapabilities, fieldCapabilities } from './capabilities.ts';
import { type ClaimValue, delegationKey, fieldsHiddenFor, namedClaims, type Person } from './delegation.ts';
import type { ExposureDecider, FieldExposure } from './exposure.ts';
import { zoneAdmits, zoneCaps, zoneExposure, zonePolicy } from './zone.ts';

export interface ViewField extends FieldCapabilities {
  column: CatalogColumn;
  exposure: Exclude<FieldExposure, { kind: 'hidden' }>;
  requiresApproval: boolean;
}

export interface ViewTable {
  table: CatalogTable;
  policy: TablePolicy;
  /** Visible fields in catalog order; anything else does not exist for this agent. */
  fields: ReadonlyMap<string, ViewField>;
  /** Fields the policy lists but the view hides, with why (for `rules explain`, never for agents). */
  hidden: ReadonlyMap<string, string>;
  /** Relations to other row-access tables of the same view, joined on visible-or-internal keys. */
  relations: readonly CatalogRelation[];
  rowFilter: Readonly<Record<string, ColumnCondition>>;
  /** For an agent acting for a person: the policy's delegation filters for this table, ANDed with its own. */
  delegated?: DelegatedFilter;
  /** Subject jurisdictions whose rows this agent may not receive at all (compliance: no transfer basis). */
  withheld: readonly string[];
}

/** What the policy's delegation section adds to a table's filters for an agent acting for a person. */
export interface DelegatedFilter {
  rowFilter: Readonly<Record<string, ColumnCondition>>;
  subjectJurisdiction: Readonly<{ in?: Operand; notIn?: Operand }> | undefined;
}

/** What one agent, acting for one purpose, may see: the input from which its GraphQL schema is built. */
export interface View {
  key: string;
  agent: AgentDefinition;
  purpose: string;
  tables: ReadonlyMap<string, ViewTable>;
  /** Rows and distinct subjects one request may return, across all its aliases and nested lists. */
  caps: RequestCaps;
  /** The security zone the view was built for (config/zones.ts). */
  zone: ZoneRules;
  /** What leaves for a flagged value of an untrusted-text field (src/agent-controls/injection). */
  untrustedText: UntrustedTextPolicy;
  /** The person the agent acts for, with only the claims the policy names; absent for an undelegated token. */
  person?: Person;
}

/** Session values row filters may refer to, resolved for the calling agent and the person it acts for. */
export function sessionValues(agent: AgentDefinition, purpose: string, person?: Person): Record<string, unknown> {
  const values: Record<string, unknown> = {
    'agent.id': agent.id,
    'agent.purpose': purpose,
    'agent.location': agent.location,
    'agent.serves': [...agent.serves],
  };
  if (person) {
    for (const [claim, value] of Object.entries(person.claims) as Array<[string, ClaimValue]>) values[`person.${claim}`] = value;
    // Last: a claim named `id` (an identity provider's, beside `sub`) never stands in for the person the token names.
    values['person.id'] = person.id;
  }
  return values;
}

/**
 * What identifies a view: everything it is built from. The masking version stays last: the rules-version plugin
 * reads it after the last '@'.
 */
export function viewKey(agent: AgentDefinition, purpose: string, zone: ZoneRules, version: string, personKey?: string): string {
  return `${agent.id}/${purpose}:${zone.name}${personKey === undefined ? '' : `~for:${personKey}`}@${version}`;
}

/**
 * Builds an agent's view from the catalog, its role's policy for the purpose and the masking decisions.
 * No policy for the pair means an empty view (fail closed), never a default one.
 */
/** Which subject jurisdictions' rows an agent may not receive, given the classes of data it would get. */
export type WithholdDecider = (agent: AgentDefinition, classes: Iterable<TagClass>) => string[];

export function buildView(
  config: ProjectConfig,
  agent: AgentDefinition,
  purpose: string,
  decide: ExposureDecider,
  version: string,
  withhold: WithholdDecider = () => [],
  zone: ZoneRules = config.registry.zones[agent.zone],
  onBehalfOf?: Person,
): View {
  const policy = config.policies.byRolePurpose.get(policyKey(agent.role, purpose));
  const delegation = policy?.delegation;
  const person = onBehalfOf && { id: onBehalfOf.id, claims: namedClaims(delegation, onBehalfOf) };
  const hiddenForPerson = person ? fieldsHiddenFor(delegation, person.claims) : new Set<string>();
  const tables = new Map<string, ViewTable>();
  const scope = { role: agent.role, purpose, agentLocation: agent.location };
  const decideInZone = zoneExposure(decide, zone);
  for (const [tableName, declared] of policy?.tables ?? []) {
    if (!zoneAdmits(declared, zone)) continue;
    const tablePolicy = zonePolicy(declared, zone);
    const table = config.catalog.tables.get(tableName)!;
    const fields = new Map<string, ViewField>();
    const hidden = new Map<string, string>();
    for (const column of table.columns.values()) {
      if (!tablePolicy.fields.includes(column.name)) continue;
      if (hiddenForPerson.has(`${tableName}.${column.name}`)) {
        hidden.set(column.name, "the policy's delegation.hide keeps it from the person the agent acts for");
        continue;
      }
      // Aggregate-only tables never return a value of one row: DP protects them, not masking.
      const exposure = tablePolicy.access === 'aggregates' ? ({ kind: 'clear', rule: undefined } as const) : decideInZone(table, column, scope);
      if (exposure.kind === 'hidden') hidden.set(column.name, exposure.reason);
      else {
        const requiresApproval = tablePolicy.requireApproval.includes(column.name);
        fields.set(column.name, { column, exposure, requiresApproval, ...fieldCapabilities(column, exposure) });
      }
    }
    // Aggregates leave no one's record: only row access can carry a subject's data across a border.
    const withheld =
      tablePolicy.access === 'rows'
        ? withhold(
            agent,
            [...fields.values()].flatMap((f) => [...f.column.classes]),
          )
        : [];
    // A relation is followed only between two tables the view reads rows of.
    const rowAccess = (name: string) => policy?.tables.get(name)?.access === 'rows';
    const relations = rowAccess(tableName) ? table.relations.filter((relation) => rowAccess(relation.target)) : [];
    const delegated = person && delegation && { rowFilter: delegation.rowFilter.get(tableName) ?? {}, subjectJurisdiction: delegation.subjectJurisdiction };
    tables.set(tableName, {
      table,
      policy: tablePolicy,
      fields,
      hidden,
      relations,
      rowFilter: tablePolicy.rowFilter,
      ...(delegated ? { delegated } : {}),
      withheld,
    });
  }
  // No policy, no rows (fail closed).
  const caps = zoneCaps(policy?.requestCaps ?? { rows: 0, subjects: 0 }, zone);
  const untrustedText = policy?.untrustedText ?? DEFAULT_UNTRUSTED_TEXT;
  const key = viewKey(agent, purpose, zone, version, onBehalfOf && delegationKey(delegation, onBehalfOf));
  return { key, agent, purpose, tables, caps, zone, untrustedText, ...(person ? { person } : {}) };
}
