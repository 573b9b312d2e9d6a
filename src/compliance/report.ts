import { type ChainVerification, type FieldAccess, verifyAuditChain } from '../audit/index.ts';
import type { AgentRegistry, Catalog } from '../config/index.ts';
import type { Db } from '../sql/index.ts';
import { passGate } from './gates.ts';
import type { Outcome, RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';
import { isTransfer, transferDecision } from './transfer.ts';

export interface ReportQuery {
  jurisdiction: string;
  /** Start of the period (inclusive). */
  from: Date;
  /** End of the period (exclusive). */
  to: Date;
}

export interface ReportContext {
  catalog: Catalog;
  registry: AgentRegistry;
  rules: JurisdictionRules;
  auditKey: Uint8Array;
  now?: Date;
}

export interface ProcessingActivity {
  agent: string;
  location: string;
  purpose: string;
  /** Classification tags of the personal data returned (catalog tags, non-public classes only). */
  categories: string[];
  tables: string[];
  requests: number;
  rows: number;
  subjects: number;
}

export interface TransferEntry {
  agent: string;
  from: string;
  to: string;
  purposes: string[];
  /** The bases the operator lists for this agent and jurisdiction today (schema/agents.yaml). */
  basesListed: string[];
  /** What the rule set says about this flow today. */
  status: Outcome | 'withhold';
  basis: string | null;
  rule: string;
  requests: number;
  subjects: number;
}

/** What one agent fetched about this jurisdiction's subjects acting for one person (a delegated token). */
export interface DelegatedAccess {
  agent: string;
  person: string;
  requests: number;
  rows: number;
  subjects: number;
}

export interface SpecialCategoryAccess {
  agent: string;
  purpose: string;
  category: string;
  fields: string[];
  requests: number;
  subjects: number;
  /** The purpose gate's verdict under today's rules. */
  status: Outcome;
  rule: string;
}

export interface Refusal {
  agent: string;
  purpose: string;
  decision: string;
  code: string;
  reason: string;
  count: number;
}

export interface BudgetUse {
  agent: string;
  requests: number;
  epsilon: number;
  delta: number;
  rho: number;
}

export interface FindingSummary {
  check: string;
  outcome: string;
  rule: string;
  agents: string[];
  count: number;
  example: string;
}

export interface ComplianceReport {
  jurisdiction: string;
  ruleSet: { id: string; law: string; short: string; reviewed: string };
  period: { from: string; to: string };
  generatedAt: string;
  auditChain: ChainVerification;
  summary: { records: number; allowed: number; refused: number; subjects: number; agents: number };
  processing: ProcessingActivity[];
  /** The part of `processing` done by agents acting for a person, per agent and person. */
  onBehalfOf: DelegatedAccess[];
  transfers: TransferEntry[];
  specialCategories: SpecialCategoryAccess[];
  refusals: Refusal[];
  privacyBudget: BudgetUse[];
  findings: FindingSummary[];
  retention: { accessRecordsDays: number; basis: string; rule: string; oldestRecordAt: string | null };
  breachNotification: RuleSet['breachNotification'];
}

/** A jurisdiction no rule set governs: a report for it would have nothing to check against. */
export class UnknownJurisdictionError extends Error {
  constructor(jurisdiction: string, known: readonly string[]) {
    super(`no jurisdiction rule set governs "${jurisdiction}" (known: ${known.join(', ')})`);
    this.name = 'UnknownJurisdictionError';
  }
}

interface LogRow {
  seq: number;
  actor_id: string | null;
  on_behalf_of: string | null;
  purpose: string | null;
  actor_location: string | null;
  decision: string;
  code: string | null;
  reason: string | null;
  tables: string[];
  fields: FieldAccess[];
  row_count: number;
  privacy_cost: Record<string, unknown> | null;
  findings: Array<Record<string, unknown>>;
  subjects_here: number;
}

/**
 * The records that concern a jurisdiction: those that returned its subjects, those with a finding about it,
 * and — when no subject list says otherwise — aggregates and refusals of agents that serve it.
 */
const SCOPED_RECORDS = `
  SELECT l.seq, l.actor_id, l.on_behalf_of, l.purpose, l.actor_location, l.decision, l.code, l.reason, l.tables, l.fields, l.row_count,
         l.privacy_cost, l.findings,
         (SELECT count(*) FROM audit_subjects s WHERE s.audit_seq = l.seq AND s.jurisdiction = $1)::int8 AS subjects_here
    FROM audit_log l
   WHERE l.recorded_at >= $2 AND l.recorded_at < $3
     AND ($1 = ANY (l.jurisdictions)
          OR l.findings @> $4::jsonb
          OR (l.subject_count = 0 AND l.actor_id = ANY ($5::text[])
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(l.findings) f WHERE f ? 'jurisdiction')))
   ORDER BY l.seq`;

async function distinctSubjects(db: Db, jurisdiction: string, seqs: readonly number[]): Promise<number> {
  if (seqs.length === 0) return 0;
  const result = await db.query<{ n: number }>(
    'SELECT count(DISTINCT subject)::int8 AS n FROM audit_subjects WHERE jurisdiction = $1 AND audit_seq = ANY ($2::int8[])',
    [jurisdiction, seqs],
  );
  return Number(result.rows[0]?.n ?? 0);
}

/** Rows grouped by a key, keeping insertion order. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

const unique = (values: Iterable<string>): string[] => [...new Set(values)].sort();
const agentOf = (row: LogRow): string => row.actor_id ?? '(anonymous)';
const numberIn = (cost: Record<string, unknown> | null, key: string): number => {
  const value = cost?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
};

function tagsOf(catalog: Catalog, field: FieldAccess): readonly string[] {
  return catalog.tables.get(field.table)?.columns.get(field.field)?.tags ?? [];
}

function personalCategories(catalog: Catalog, fields: readonly FieldAccess[]): string[] {
  return unique(fields.flatMap((field) => tagsOf(catalog, field).filter((tag) => catalog.tags.get(tag)?.class !== 'public')));
}

async function processingActivities(db: Db, code: string, catalog: Catalog, returned: LogRow[]): Promise<ProcessingActivity[]> {
  const groups = groupBy(returned, (row) => `${agentOf(row)}\u0000${row.purpose ?? ''}\u0000${row.actor_location ?? ''}`);
  return Promise.all(
    [...groups.values()].map(async (rows) => ({
      agent: agentOf(rows[0]!),
      location: rows[0]!.actor_location ?? '',
      purpose: rows[0]!.purpose ?? '',
      categories: personalCategories(
        catalog,
        rows.flatMap((row) => row.fields),
      ),
      tables: unique(rows.flatMap((row) => row.tables)),
      requests: rows.length,
      rows: rows.reduce((sum, row) => sum + Number(row.row_count), 0),
      subjects: await distinctSubjects(
        db,
        code,
        rows.map((row) => Number(row.seq)),
      ),
    })),
  );
}

async function transfers(db: Db, code: string, set: RuleSet, registry: AgentRegistry, returned: LogRow[]): Promise<TransferEntry[]> {
  const abroad = returned.filter((row) => row.actor_location && isTransfer(set, code, row.actor_location));
  const groups = groupBy(abroad, (row) => `${agentOf(row)}\u0000${row.actor_location}`);
  return Promise.all(
    [...groups.values()].map(async (rows) => {
      const agent = agentOf(rows[0]!);
      const location = rows[0]!.actor_location!;
      const transferBases = registry.agents.get(agent)?.transferBases ?? {};
      const decision = transferDecision(set, code, { id: agent, location, transferBases });
      const status: TransferEntry['status'] = decision.kind === 'restricted' ? 'deny' : decision.kind === 'domestic' ? 'allow' : decision.outcome;
      return {
        agent,
        from: code,
        to: location,
        purposes: unique(rows.map((row) => row.purpose ?? '')),
        basesListed: [...(transferBases[code] ?? [])],
        status,
        basis: decision.kind === 'basis' ? decision.basis : null,
        rule: decision.kind === 'domestic' ? set.transfers.rule : decision.rule,
        requests: rows.length,
        subjects: await distinctSubjects(
          db,
          code,
          rows.map((row) => Number(row.seq)),
        ),
      };
    }),
  );
}

async function specialCategoryAccess(db: Db, code: string, set: RuleSet, catalog: Catalog, returned: LogRow[]): Promise<SpecialCategoryAccess[]> {
  const uses: Array<{ row: LogRow; category: string; field: string; gate: RuleSet['sensitiveCategories'][number] | undefined }> = [];
  for (const row of returned) {
    for (const field of row.fields) {
      const tags = tagsOf(catalog, field);
      const gate = set.sensitiveCategories.find((category) => category.tags.some((tag) => tags.includes(tag)));
      const special = tags.find((tag) => catalog.tags.get(tag)?.class === 'special');
      if (gate || special) uses.push({ row, category: gate?.category ?? special!, field: `${field.table}.${field.field}`, gate });
    }
  }
  const groups = groupBy(uses, (use) => `${agentOf(use.row)}\u0000${use.row.purpose ?? ''}\u0000${use.category}`);
  return Promise.all(
    [...groups.values()].map(async (group) => {
      const first = group[0]!;
      const purpose = first.row.purpose ?? '';
      const verdict = first.gate ? passGate(first.gate, purpose) : { outcome: 'flag' as const, rule: `no ${set.short} rule for this category` };
      const seqs = unique(group.map((use) => String(use.row.seq))).map(Number);
      return {
        agent: agentOf(first.row),
        purpose,
        category: first.category,
        fields: unique(group.map((use) => use.field)),
        requests: seqs.length,
        subjects: await distinctSubjects(db, code, seqs),
        status: verdict.outcome,
        rule: verdict.rule,
      };
    }),
  );
}

function refusals(rows: LogRow[]): Refusal[] {
  const refused = rows.filter((row) => row.decision !== 'allowed');
  const groups = groupBy(refused, (row) => [agentOf(row), row.purpose, row.decision, row.code, row.reason].join('\u0000'));
  return [...groups.values()].map((group) => ({
    agent: agentOf(group[0]!),
    purpose: group[0]!.purpose ?? '',
    decision: group[0]!.decision,
    code: group[0]!.code ?? '',
    reason: group[0]!.reason ?? '',
    count: group.length,
  }));
}

function budgetUse(rows: LogRow[]): BudgetUse[] {
  const groups = groupBy(
    rows.filter((row) => row.privacy_cost !== null),
    agentOf,
  );
  return [...groups.entries()].map(([agent, group]) => ({
    agent,
    requests: group.length,
    epsilon: group.reduce((sum, row) => sum + numberIn(row.privacy_cost, 'epsilon'), 0),
    delta: group.reduce((sum, row) => sum + numberIn(row.privacy_cost, 'delta'), 0),
    rho: group.reduce((sum, row) => sum + numberIn(row.privacy_cost, 'rho'), 0),
  }));
}

function findingSummaries(code: string, rows: LogRow[]): FindingSummary[] {
  const found = rows.flatMap((row) => row.findings.filter((finding) => finding.jurisdiction === code).map((finding) => ({ row, finding })));
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const groups = groupBy(found, ({ finding }) => [finding.check, finding.outcome, finding.rule].map(text).join('\u0000'));
  return [...groups.values()].map((group) => ({
    check: text(group[0]!.finding.check),
    outcome: text(group[0]!.finding.outcome),
    rule: text(group[0]!.finding.rule),
    agents: unique(group.map(({ row }) => agentOf(row))),
    count: group.length,
    example: text(group[0]!.finding.message),
  }));
}

async function delegatedAccess(db: Db, code: string, returned: LogRow[]): Promise<DelegatedAccess[]> {
  const delegated = returned.filter((row) => row.on_behalf_of !== null);
  const groups = groupBy(delegated, (row) => `${agentOf(row)}\u0000${row.on_behalf_of}`);
  return Promise.all(
    [...groups.values()].map(async (rows) => ({
      agent: agentOf(rows[0]!),
      person: rows[0]!.on_behalf_of!,
      requests: rows.length,
      rows: rows.reduce((sum, row) => sum + Number(row.row_count), 0),
      subjects: await distinctSubjects(
        db,
        code,
        rows.map((row) => row.seq),
      ),
    })),
  );
}

/**
 * A record of processing for one jurisdiction's data subjects over a period, read from the audit log: who
 * accessed which categories of their data and why, transfers abroad and the bases in force, special-category
 * access, refusals, differential-privacy spend, compliance findings, and whether the audit chain verifies.
 */
export async function buildComplianceReport(db: Db, query: ReportQuery, context: ReportContext): Promise<ComplianceReport> {
  const { jurisdiction: code } = query;
  const set = context.rules.byJurisdiction.get(code);
  if (!set) throw new UnknownJurisdictionError(code, [...context.rules.byJurisdiction.keys()].sort());
  const serving = [...context.registry.agents.values()].filter((agent) => agent.serves.includes(code)).map((agent) => agent.id);
  const rows = (await db.query<LogRow>(SCOPED_RECORDS, [code, query.from, query.to, JSON.stringify([{ jurisdiction: code }]), serving])).rows.map((row) => ({
    ...row,
    seq: Number(row.seq),
    subjects_here: Number(row.subjects_here),
  }));
  const returned = rows.filter((row) => row.subjects_here > 0);
  const oldest = (await db.query<{ at: Date | null }>('SELECT min(recorded_at) AS at FROM audit_log')).rows[0]?.at ?? null;

  return {
    jurisdiction: code,
    ruleSet: { id: set.id, law: set.law, short: set.short, reviewed: set.reviewed },
    period: { from: query.from.toISOString(), to: query.to.toISOString() },
    generatedAt: (context.now ?? new Date()).toISOString(),
    auditChain: await verifyAuditChain(db, context.auditKey),
    summary: {
      records: rows.length,
      allowed: rows.filter((row) => row.decision === 'allowed').length,
      refused: rows.filter((row) => row.decision !== 'allowed').length,
      subjects: await distinctSubjects(
        db,
        code,
        returned.map((row) => row.seq),
      ),
      agents: unique(rows.map(agentOf)).length,
    },
    processing: await processingActivities(db, code, context.catalog, returned),
    onBehalfOf: await delegatedAccess(db, code, returned),
    transfers: await transfers(db, code, set, context.registry, returned),
    specialCategories: await specialCategoryAccess(db, code, set, context.catalog, returned),
    refusals: refusals(rows),
    privacyBudget: budgetUse(rows),
    findings: findingSummaries(code, rows),
    retention: {
      accessRecordsDays: set.retention.accessRecords.days,
      basis: set.retention.accessRecords.basis,
      rule: set.retention.accessRecords.rule,
      oldestRecordAt: oldest ? new Date(oldest).toISOString() : null,
    },
    breachNotification: set.breachNotification,
  };
}
