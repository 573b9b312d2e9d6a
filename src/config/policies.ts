import { z } from 'zod';
import type { AgentRegistry } from './agents.ts';
import type { Catalog } from './catalog.ts';
import { unknownChoice } from './choices.ts';
import { ConfigError, type ConfigIssue, type YamlSource } from './yaml-source.ts';

export const SESSION_KEYS = ['agent.id', 'agent.purpose', 'agent.location', 'agent.serves'] as const;
export type SessionKey = (typeof SESSION_KEYS)[number];

/** A claim of the person an agent acts for (a delegated token, docs/identity-delegation.md), by its name in the token. */
export const PERSON_SESSION_PREFIX = 'person.';
const claimName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a claim name: letters, digits and _, at most 64');
const personSessionKey = z
  .string()
  .regex(/^person\.[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected agent.id, agent.purpose, agent.location, agent.serves or person.<claim>');

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const sessionRef = z.strictObject({ session: z.union([z.enum(SESSION_KEYS), personSessionKey]) });
const operand = z.union([scalar, z.array(scalar), sessionRef]);

export const FILTER_OPERATORS = ['eq', 'ne', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

const columnCondition = z
  .strictObject({
    eq: operand.optional(),
    ne: operand.optional(),
    in: operand.optional(),
    notIn: operand.optional(),
    lt: operand.optional(),
    lte: operand.optional(),
    gt: operand.optional(),
    gte: operand.optional(),
    isNull: z.boolean().optional(),
  })
  .refine((condition) => Object.keys(condition).length > 0, 'expected at least one operator');

const tablePolicy = z.strictObject({
  access: z.enum(['rows', 'aggregates', 'encrypted']),
  fields: z.array(z.string()).min(1),
  rowFilter: z.record(z.string(), columnCondition).optional(),
  maxLimit: z.number().int().min(1).max(10_000).default(100),
  requireApproval: z.array(z.string()).default([]),
  encryptedAggregates: z.array(z.string()).default([]),
  /** DP contribution bound: at most this many rows of one data subject count in one aggregate query. */
  maxRowsPerSubject: z.number().int().min(1).max(10_000).default(10),
  /**
   * Encrypted aggregates without DP noise: only over one cell of this partition (one `eq` per column), and only
   * when the cell holds at least `minSubjects` data subjects. Absent: every encrypted aggregate needs noise.
   */
  exactAnswers: z.strictObject({ partitionBy: z.array(z.string()).min(1), minSubjects: z.number().int().min(2).max(10_000) }).optional(),
});

const subjectJurisdictionSchema = z
  .strictObject({ in: operand.optional(), notIn: operand.optional() })
  .refine((condition) => Object.keys(condition).length > 0, 'expected in or notIn');

/**
 * What a policy grants an agent acting for a person (a delegated token: `sub` the person, `act.sub` the agent): row
 * filters over the person's claims (`{ session: person.<claim> }`) and fields hidden when the person's claims match.
 * The agent keeps at most its own view; this only narrows it.
 */
const delegationSchema = z.strictObject({
  /** true: a token naming no person is refused (DELEGATION_REQUIRED). */
  required: z.boolean().default(false),
  /** Rows only about data subjects of these jurisdictions (e.g. the regions the person handles), in every table. */
  subjectJurisdiction: subjectJurisdictionSchema.optional(),
  /** Per table, conditions added to the table's own row filter. */
  rowFilter: z.record(z.string(), z.record(z.string(), columnCondition)).default({}),
  /** Fields (`table.field`) the agent may not see for a person whose claims match `when`; a claim `when` needs and the token lacks matches. */
  hide: z
    .array(
      z.strictObject({
        when: z.record(claimName, z.union([scalar, z.array(scalar)])).refine((when) => Object.keys(when).length > 0, 'expected at least one claim'),
        fields: z.array(z.string()).min(1),
      }),
    )
    .default([]),
});

const budget = z.strictObject({ epsilon: z.number().positive(), delta: z.number().min(0).lt(1) });

const privacySchema = z.strictObject({
  /** Budgets renew each period: the ledger keys spends by the period they fall in (UTC). */
  period: z.enum(['day', 'month', 'year']).default('month'),
  /** One budget for the whole dataset, shared by every agent, so colluding agents cannot add theirs up. */
  dataset: budget,
  agents: z.record(
    z.string(),
    budget.extend({
      maxEpsilonPerQuery: z.number().positive(),
      maxDeltaPerQuery: z.number().min(0).lt(1).default(0),
      /** Smaller ε or δ buys noise that answers nothing and costs samplers unbounded work: refused. */
      minEpsilonPerQuery: z.number().positive().default(0.001),
      minDeltaPerQuery: z.number().positive().lt(1).default(1e-12),
    }),
  ),
});

/** What src/agent-controls/baselines scores: per request, and per window of `windowMinutes`. */
/** What one request is scored on, against the agent's recent requests. */
export const REQUEST_STATISTICS = ['rowsPerRequest', 'subjectsPerRequest', 'fieldsPerRequest', 'epsilonPerRequest'] as const;
/** What one window (an hour by default) of an agent's activity under one purpose is scored on. */
export const WINDOW_STATISTICS = [
  'requestsPerWindow',
  'rowsPerWindow',
  'subjectsPerWindow',
  'denialsPerWindow',
  'maskedFilterAttemptsPerWindow',
  'epsilonPerWindow',
] as const;
export const ANOMALY_STATISTICS = [...REQUEST_STATISTICS, ...WINDOW_STATISTICS] as const;
export type AnomalyStatistic = (typeof ANOMALY_STATISTICS)[number];

/** A robust z-score above which a value is an anomaly; null: the statistic is not scored. */
const robustZ = z.number().min(2).max(1000).nullable();

/** One layer of anomaly settings (the file's defaults, a role's, an agent's); what a layer leaves out, the one below says. */
const anomalyLayer = z.strictObject({
  quarantine: z.boolean().optional(),
  minObservations: z.number().int().min(10).max(1_000_000).optional(),
  minWindows: z.number().int().min(3).max(100_000).optional(),
  threshold: robustZ.optional(),
  thresholds: z.partialRecord(z.enum(ANOMALY_STATISTICS), robustZ).optional(),
  newFields: z.boolean().optional(),
  unusualHours: z.union([z.literal(false), z.strictObject({ minDays: z.number().int().min(1).max(365), maxShare: z.number().min(0).max(0.05) })]).optional(),
});
export type AnomalyLayer = z.output<typeof anomalyLayer>;

const anomaliesSchema = anomalyLayer.extend({
  windowMinutes: z.number().int().min(1).max(1440).default(60),
  roles: z.record(z.string(), anomalyLayer).default({}),
  agents: z.record(z.string(), anomalyLayer).default({}),
});
export type AnomalyConfig = z.output<typeof anomaliesSchema>;

/**
 * For a flagged value of an untrusted-text field (src/agent-controls/injection): `flag` returns it with a mark in
 * `extensions.untrustedText`, `neutralise` returns it wrapped with the suspect spans removed, `withhold` returns null.
 */
export const UNTRUSTED_TEXT_ACTIONS = ['flag', 'neutralise', 'withhold'] as const;
export type UntrustedTextAction = (typeof UNTRUSTED_TEXT_ACTIONS)[number];
export interface UntrustedTextPolicy {
  action: UntrustedTextAction;
}
export const DEFAULT_UNTRUSTED_TEXT: UntrustedTextPolicy = { action: 'flag' };

export const policiesFileSchema = z.strictObject({
  privacy: privacySchema.optional(),
  anomalies: anomaliesSchema.default({ windowMinutes: 60, roles: {}, agents: {} }),
  policies: z.array(
    z.strictObject({
      role: z.string(),
      purposes: z.array(z.string()).min(1),
      subjectJurisdiction: subjectJurisdictionSchema.optional(),
      tables: z.record(z.string(), tablePolicy),
      /** Caps on one request, summed over its aliases and nested lists; default: the policy's largest page. */
      maxRowsPerRequest: z.number().int().min(1).max(100_000).optional(),
      maxSubjectsPerRequest: z.number().int().min(1).max(100_000).optional(),
      /** What leaves for a value of an untrusted-text field that the scanner flags; every such value is scanned. */
      untrustedText: z.strictObject({ action: z.enum(UNTRUSTED_TEXT_ACTIONS) }).default(DEFAULT_UNTRUSTED_TEXT),
      delegation: delegationSchema.optional(),
    }),
  ),
});

export type Operand = z.output<typeof operand>;
export type ColumnCondition = Partial<Record<FilterOperator, Operand>>;

export interface TablePolicy {
  table: string;
  access: 'rows' | 'aggregates' | 'encrypted';
  fields: readonly string[];
  rowFilter: Readonly<Record<string, ColumnCondition>>;
  /** Rows are only about data subjects whose jurisdiction passes this (every table of the policy). */
  subjectJurisdiction: Readonly<{ in?: Operand; notIn?: Operand }> | undefined;
  maxLimit: number;
  requireApproval: readonly string[];
  encryptedAggregates: readonly string[];
  maxRowsPerSubject: number;
  exactAnswers: ExactAnswers | undefined;
  /** Where the policy was written, for explanations and audit. */
  source: string;
}

export interface ExactAnswers {
  partitionBy: readonly string[];
  minSubjects: number;
}

/** What one request may return at most, over all its aliases and nested lists. */
export interface RequestCaps {
  rows: number;
  /** Distinct data subjects. */
  subjects: number;
}

export type ClaimMatch = string | number | boolean | ReadonlyArray<string | number | boolean>;

export interface DelegationPolicy {
  required: boolean;
  /** Rows only about data subjects whose jurisdiction passes this, in every table, besides the policy's own. */
  subjectJurisdiction: Readonly<{ in?: Operand; notIn?: Operand }> | undefined;
  /** Per table, conditions over its columns whose session values may name the person's claims. */
  rowFilter: ReadonlyMap<string, Readonly<Record<string, ColumnCondition>>>;
  hide: ReadonlyArray<{ when: Readonly<Record<string, ClaimMatch>>; fields: ReadonlyArray<{ table: string; field: string }> }>;
  /** Every claim the section names: the only ones of a person's claims that reach a view, its cache key and its filters. */
  claims: readonly string[];
  /** The claims the row filters need: a token without one of them is refused (DELEGATION_CLAIM_MISSING). */
  requiredClaims: readonly string[];
  /** Whether a row filter names `person.id`: then each person has a view of their own. */
  namesPersonId: boolean;
}

export interface Policy {
  role: string;
  purpose: string;
  tables: ReadonlyMap<string, TablePolicy>;
  requestCaps: RequestCaps;
  untrustedText: UntrustedTextPolicy;
  /** Absent: a delegated token gets the agent's own view, and an undelegated one is served. */
  delegation: DelegationPolicy | undefined;
}

export type PrivacyConfig = z.output<typeof privacySchema>;

/** Policies keyed by `role/purpose`; exactly one policy may cover a pair. Plus the DP budgets. */
export interface PolicySet {
  byRolePurpose: ReadonlyMap<string, Policy>;
  /** Absent: no agent may spend privacy budget (DP queries are refused). */
  privacy: PrivacyConfig | undefined;
  /** Behavioural baselines: thresholds, cold start and quarantine, per role and agent over the file's defaults. */
  anomalies: AnomalyConfig;
}

export const policyKey = (role: string, purpose: string) => `${role}/${purpose}`;

export function buildPolicySet(source: YamlSource, catalog: Catalog, registry: AgentRegistry): PolicySet {
  const file = source.parse(policiesFileSchema);
  const issues: ConfigIssue[] = [];
  const set = new Map<string, Policy>();
  file.policies.forEach((policy, p) => {
    const at = ['policies', p];
    if (!registry.roles.has(policy.role)) issues.push(source.issue([...at, 'role'], unknownChoice('role', policy.role, registry.roles.keys())));
    const tables = new Map<string, TablePolicy>();
    for (const [tableName, table] of Object.entries(policy.tables)) {
      const tableAt = [...at, 'tables', tableName];
      const catalogTable = catalog.tables.get(tableName);
      if (!catalogTable) {
        issues.push(source.issue(tableAt, unknownChoice('table', tableName, catalog.tables.keys())));
        continue;
      }
      const checkColumn = (column: string, path: (string | number)[]) => {
        const qualified = [...catalogTable.columns.keys()].map((c) => `${tableName}.${c}`);
        if (!catalogTable.columns.has(column)) issues.push(source.issue(path, unknownChoice('column', `${tableName}.${column}`, qualified)));
      };
      table.fields.forEach((field, i) => {
        checkColumn(field, [...tableAt, 'fields', i]);
        if (catalogTable.columns.get(field)?.encrypted) {
          issues.push(source.issue([...tableAt, 'fields', i], `"${field}" is encrypted-only: list it under encryptedAggregates`));
        }
      });
      for (const [column, condition] of Object.entries(table.rowFilter ?? {})) {
        checkColumn(column, [...tableAt, 'rowFilter', column]);
        issues.push(...personRefIssues(source, condition, [...tableAt, 'rowFilter', column]));
      }
      table.requireApproval.forEach((field, i) => {
        if (!table.fields.includes(field)) issues.push(source.issue([...tableAt, 'requireApproval', i], `"${field}" is not in fields`));
      });
      table.encryptedAggregates.forEach((field, i) => {
        if (!catalogTable.columns.get(field)?.encrypted) {
          issues.push(source.issue([...tableAt, 'encryptedAggregates', i], `"${field}" is not an encrypted column`));
        }
      });
      table.exactAnswers?.partitionBy.forEach((field, i) => {
        const path = [...tableAt, 'exactAnswers', 'partitionBy', i];
        if (table.access !== 'encrypted') issues.push(source.issue(path, 'exactAnswers applies to access: encrypted only'));
        else if (!table.fields.includes(field)) issues.push(source.issue(path, `"${field}" is not in fields`));
        else if (table.exactAnswers!.partitionBy.indexOf(field) !== i) issues.push(source.issue(path, `"${field}" is listed twice`));
      });
      tables.set(tableName, {
        table: tableName,
        access: table.access,
        fields: table.fields,
        rowFilter: table.rowFilter ?? {},
        subjectJurisdiction: policy.subjectJurisdiction,
        maxLimit: table.maxLimit,
        requireApproval: table.requireApproval,
        encryptedAggregates: table.encryptedAggregates,
        maxRowsPerSubject: table.maxRowsPerSubject,
        exactAnswers: table.exactAnswers,
        source: `${source.file}:${source.lineOf(tableAt)}`,
      });
    }
    if (policy.subjectJurisdiction) issues.push(...personRefIssues(source, policy.subjectJurisdiction, [...at, 'subjectJurisdiction']));
    const delegation = policy.delegation && buildDelegation(source, policy.delegation, tables, catalog, [...at, 'delegation'], issues);
    const largestPage = Math.max(1, ...[...tables.values()].map((table) => table.maxLimit));
    const requestCaps = { rows: policy.maxRowsPerRequest ?? largestPage, subjects: policy.maxSubjectsPerRequest ?? largestPage };
    policy.purposes.forEach((purpose, i) => {
      if (!registry.purposes.has(purpose)) issues.push(source.issue([...at, 'purposes', i], unknownChoice('purpose', purpose, registry.purposes.keys())));
      const key = policyKey(policy.role, purpose);
      if (set.has(key)) issues.push(source.issue([...at, 'purposes', i], `a policy for ${key} is already declared`));
      set.set(key, { role: policy.role, purpose, tables, requestCaps, untrustedText: policy.untrustedText, delegation });
    });
  });
  for (const agent of Object.keys(file.privacy?.agents ?? {})) {
    if (!registry.agents.has(agent)) issues.push(source.issue(['privacy', 'agents', agent], unknownChoice('agent', agent, registry.agents.keys())));
  }
  for (const role of Object.keys(file.anomalies.roles)) {
    if (!registry.roles.has(role)) issues.push(source.issue(['anomalies', 'roles', role], unknownChoice('role', role, registry.roles.keys())));
  }
  for (const agent of Object.keys(file.anomalies.agents)) {
    if (!registry.agents.has(agent)) issues.push(source.issue(['anomalies', 'agents', agent], unknownChoice('agent', agent, registry.agents.keys())));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { byRolePurpose: set, privacy: file.privacy, anomalies: file.anomalies };
}

const personClaimOf = (operand: unknown): string | undefined => {
  const session = typeof operand === 'object' && operand !== null && !Array.isArray(operand) ? (operand as { session: string }).session : undefined;
  return session?.startsWith(PERSON_SESSION_PREFIX) ? session.slice(PERSON_SESSION_PREFIX.length) : undefined;
};

/** A person's claims exist only for a delegated token: outside a delegation section a filter on them would see nothing. */
function personRefIssues(source: YamlSource, condition: Record<string, unknown>, at: (string | number)[]): ConfigIssue[] {
  return Object.entries(condition)
    .filter(([, operand]) => personClaimOf(operand) !== undefined)
    .map(([operator]) =>
      source.issue([...at, operator], 'person.* session values exist only for delegated tokens: write this filter under delegation.rowFilter'),
    );
}

function buildDelegation(
  source: YamlSource,
  declared: z.output<typeof delegationSchema>,
  tables: ReadonlyMap<string, TablePolicy>,
  catalog: Catalog,
  at: (string | number)[],
  issues: ConfigIssue[],
): DelegationPolicy {
  const rowFilter = new Map<string, Readonly<Record<string, ColumnCondition>>>();
  const requiredClaims = new Set<string>();
  let namesPersonId = false;
  const noteClaim = (operand: unknown) => {
    const claim = personClaimOf(operand);
    if (claim === 'id') namesPersonId = true;
    else if (claim !== undefined) requiredClaims.add(claim);
  };
  for (const operand of Object.values(declared.subjectJurisdiction ?? {})) noteClaim(operand);
  for (const [tableName, conditions] of Object.entries(declared.rowFilter)) {
    const tableAt = [...at, 'rowFilter', tableName];
    if (!tables.has(tableName)) {
      issues.push(source.issue(tableAt, unknownChoice('table of this policy', tableName, tables.keys())));
      continue;
    }
    const columns = catalog.tables.get(tableName)!.columns;
    for (const [column, condition] of Object.entries(conditions)) {
      if (!columns.has(column))
        issues.push(
          source.issue(
            [...tableAt, column],
            unknownChoice(
              'column',
              `${tableName}.${column}`,
              [...columns.keys()].map((c) => `${tableName}.${c}`),
            ),
          ),
        );
      for (const operand of Object.values(condition)) noteClaim(operand);
    }
    rowFilter.set(tableName, conditions);
  }
  const hide = declared.hide.map((rule, r) => ({
    when: rule.when,
    fields: rule.fields.flatMap((name, i) => {
      const [table = '', field = ''] = name.split('.', 2);
      if (!tables.get(table)?.fields.includes(field)) {
        const known = [...tables.values()].flatMap((t) => t.fields.map((f) => `${t.table}.${f}`));
        issues.push(source.issue([...at, 'hide', r, 'fields', i], unknownChoice('field of this policy (table.field)', name, known)));
        return [];
      }
      return [{ table, field }];
    }),
  }));
  const claims = [...new Set([...requiredClaims, ...declared.hide.flatMap((rule) => Object.keys(rule.when))])].sort();
  return {
    required: declared.required,
    subjectJurisdiction: declared.subjectJurisdiction,
    rowFilter,
    hide,
    claims,
    requiredClaims: [...requiredClaims].sort(),
    namesPersonId,
  };
}
