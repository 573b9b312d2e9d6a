import { z } from 'zod';
import type { AgentRegistry } from './agents.ts';
import type { Catalog } from './catalog.ts';
import { unknownChoice } from './choices.ts';
import { ConfigError, type ConfigIssue, type YamlSource } from './yaml-source.ts';

export const SESSION_KEYS = ['agent.id', 'agent.purpose', 'agent.location', 'agent.serves'] as const;
export type SessionKey = (typeof SESSION_KEYS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const sessionRef = z.strictObject({ session: z.enum(SESSION_KEYS) });
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

const subjectJurisdiction = z
  .strictObject({ in: operand.optional(), notIn: operand.optional() })
  .refine((condition) => Object.keys(condition).length > 0, 'expected in or notIn');

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
      subjectJurisdiction: subjectJurisdiction.optional(),
      tables: z.record(z.string(), tablePolicy),
      /** Caps on one request, summed over its aliases and nested lists; default: the policy's largest page. */
      maxRowsPerRequest: z.number().int().min(1).max(100_000).optional(),
      maxSubjectsPerRequest: z.number().int().min(1).max(100_000).optional(),
      /** What leaves for a value of an untrusted-text field that the scanner flags; every such value is scanned. */
      untrustedText: z.strictObject({ action: z.enum(UNTRUSTED_TEXT_ACTIONS) }).default(DEFAULT_UNTRUSTED_TEXT),
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

export interface Policy {
  role: string;
  purpose: string;
  tables: ReadonlyMap<string, TablePolicy>;
  requestCaps: RequestCaps;
  untrustedText: UntrustedTextPolicy;
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
      for (const column of Object.keys(table.rowFilter ?? {})) checkColumn(column, [...tableAt, 'rowFilter', column]);
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
    const largestPage = Math.max(1, ...[...tables.values()].map((table) => table.maxLimit));
    const requestCaps = { rows: policy.maxRowsPerRequest ?? largestPage, subjects: policy.maxSubjectsPerRequest ?? largestPage };
    policy.purposes.forEach((purpose, i) => {
      if (!registry.purposes.has(purpose)) issues.push(source.issue([...at, 'purposes', i], unknownChoice('purpose', purpose, registry.purposes.keys())));
      const key = policyKey(policy.role, purpose);
      if (set.has(key)) issues.push(source.issue([...at, 'purposes', i], `a policy for ${key} is already declared`));
      set.set(key, { role: policy.role, purpose, tables, requestCaps, untrustedText: policy.untrustedText });
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
