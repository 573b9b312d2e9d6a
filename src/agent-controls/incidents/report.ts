import { type ChainVerification, verifyAuditChain } from '../../audit/index.ts';
import type { JurisdictionRules } from '../../compliance/index.ts';
import type { AgentRegistry } from '../../config/index.ts';
import { jsonNumber, num } from '../../officer/sql-values.ts';
import type { Queryable } from '../../sql/index.ts';
import { type DutyClock, type NotificationDuty, notificationDuties, type SubjectsInJurisdiction } from './duties.ts';
import { type Incident, IncidentError, incidentConcerning, requireKnownAgent } from './incidents.ts';

export interface IncidentReportQuery {
  agent: string;
  /** Start of the window (inclusive). */
  since: Date;
  /** End of the window (exclusive). */
  until: Date;
}

export interface IncidentReportContext {
  registry: AgentRegistry;
  rules: JurisdictionRules;
  auditKey: Uint8Array;
  now?: Date;
}

export interface IncidentReport {
  agent: string;
  window: { since: string; until: string };
  generatedAt: string;
  /** The incident deadlines count from (its latest open one, or one opened in the window); null: none. */
  incident: Incident | null;
  clock: { start: string; from: DutyClock['from'] };
  auditChain: ChainVerification;
  requests: { total: number; allowed: number; denied: number; errors: number; pendingApproval: number };
  refusals: Array<{ decision: string; code: string | null; reason: string | null; count: number }>;
  /** What the answers held, from here on (a refused request returned nothing). */
  tables: Array<{ table: string; requests: number; rows: number }>;
  fields: Array<{ table: string; field: string; mask: string; rule: string | null; requests: number; rows: number }>;
  rows: number;
  subjects: { total: number; byJurisdiction: SubjectsInJurisdiction[] };
  /** Σ of what the allowed answers' records declare (basic composition; a replayed answer declares 0). */
  privacySpend: { releases: number; epsilon: number; delta: number; rho: number };
  duties: NotificationDuty[];
  /** Jurisdictions of subjects the agent received data about that no rule set governs. */
  ungoverned: string[];
}

/**
 * The agent's own records in the window ($1 agent, $2 since, $3 until), as alias `a`. A refused request's record
 * names no table, field, row or subject (request/audit-draft.ts), so what they list is what the agent received;
 * but it may keep the privacy cost of releases that were rolled back (an agent revoked meanwhile), not spent.
 */
const IN_WINDOW = `a.actor_kind = 'agent' AND a.actor_id = $1 AND a.recorded_at >= $2 AND a.recorded_at < $3`;

const SUMMARY = `
  SELECT count(*) AS total,
         count(*) FILTER (WHERE a.decision = 'allowed') AS allowed,
         count(*) FILTER (WHERE a.decision = 'denied') AS denied,
         count(*) FILTER (WHERE a.decision = 'error') AS errors,
         count(*) FILTER (WHERE a.decision = 'pending_approval') AS pending,
         coalesce(sum(a.row_count), 0) AS rows,
         count(a.privacy_cost) FILTER (WHERE a.decision = 'allowed') AS releases,
         coalesce(sum(${jsonNumber('a.privacy_cost', 'epsilon')}) FILTER (WHERE a.decision = 'allowed'), 0) AS epsilon,
         coalesce(sum(${jsonNumber('a.privacy_cost', 'delta')}) FILTER (WHERE a.decision = 'allowed'), 0) AS delta,
         coalesce(sum(${jsonNumber('a.privacy_cost', 'rho')}) FILTER (WHERE a.decision = 'allowed'), 0) AS rho
    FROM audit_log a WHERE ${IN_WINDOW}`;

const REFUSALS = `
  SELECT a.decision, a.code, a.reason, count(*) AS n FROM audit_log a WHERE ${IN_WINDOW} AND a.decision <> 'allowed'
   GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3`;

const TABLES = `
  SELECT t.name, count(*) AS requests, coalesce(sum(a.row_count), 0) AS rows
    FROM audit_log a CROSS JOIN LATERAL unnest(a.tables) AS t(name) WHERE ${IN_WINDOW}
   GROUP BY 1 ORDER BY 1`;

// A record lists each field once per way it was shown (aliases are merged when the record is drafted).
const FIELDS = `
  SELECT f.value->>'table' AS t, f.value->>'field' AS f, coalesce(f.value->>'mask', 'clear') AS mask, f.value->>'rule' AS rule,
         count(*) AS requests, coalesce(sum(a.row_count), 0) AS rows
    FROM audit_log a CROSS JOIN LATERAL jsonb_array_elements(a.fields) AS f(value) WHERE ${IN_WINDOW}
   GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;

// Per jurisdiction, and (the grouping set ()) over all: a subject recorded under two jurisdictions counts once there.
const SUBJECTS = `
  SELECT s.jurisdiction, GROUPING(s.jurisdiction) AS overall, count(DISTINCT s.subject) AS n
    FROM audit_log a JOIN audit_subjects s ON s.audit_seq = a.seq WHERE ${IN_WINDOW}
   GROUP BY GROUPING SETS ((s.jurisdiction), ())`;

interface SummaryRow {
  total: number;
  allowed: number;
  denied: number;
  errors: number;
  pending: number;
  rows: number;
  releases: number;
  epsilon: number;
  delta: number;
  rho: number;
}

async function subjectsReceived(db: Queryable, params: unknown[]): Promise<IncidentReport['subjects']> {
  const { rows } = await db.query<{ jurisdiction: string | null; overall: number; n: number }>(SUBJECTS, params);
  const byJurisdiction = rows
    .filter((row) => num(row.overall) === 0)
    .map((row) => ({ jurisdiction: row.jurisdiction, subjects: num(row.n) }))
    .sort((a, b) => (a.jurisdiction ?? '\uffff').localeCompare(b.jurisdiction ?? '\uffff'));
  return { total: num(rows.find((row) => num(row.overall) === 1)?.n), byJurisdiction };
}

/**
 * What an agent received in a window, from its audit records: requests by decision, the refusals, the tables
 * and fields (with their masks) of its allowed answers, their rows, the distinct data subjects by jurisdiction,
 * the ε its records declare; and, for every jurisdiction touched, the breach-notification duties that may apply,
 * with deadlines counted from the incident's opening (or from the window's start when there is no incident).
 * Also whether the audit chain these figures come from verifies.
 */
export async function buildIncidentReport(db: Queryable, query: IncidentReportQuery, context: IncidentReportContext): Promise<IncidentReport> {
  requireKnownAgent(context.registry, query.agent);
  if (query.since >= query.until) throw new IncidentError(`the window must start (${query.since.toISOString()}) before it ends (${query.until.toISOString()})`);
  const params = [query.agent, query.since, query.until];
  const [incident, summary, refusals, tables, fields, subjects, auditChain] = await Promise.all([
    incidentConcerning(db, query.agent, query.since),
    db.query<SummaryRow>(SUMMARY, params).then(({ rows }) => rows[0]!),
    db.query<{ decision: string; code: string | null; reason: string | null; n: number }>(REFUSALS, params),
    db.query<{ name: string; requests: number; rows: number }>(TABLES, params),
    db.query<{ t: string; f: string; mask: string; rule: string | null; requests: number; rows: number }>(FIELDS, params),
    subjectsReceived(db, params),
    verifyAuditChain(db, context.auditKey),
  ]);
  const clock: DutyClock = incident ? { start: incident.openedAt, from: 'incident' } : { start: query.since, from: 'window' };
  return {
    agent: query.agent,
    window: { since: query.since.toISOString(), until: query.until.toISOString() },
    generatedAt: (context.now ?? new Date()).toISOString(),
    incident,
    clock: { start: clock.start.toISOString(), from: clock.from },
    auditChain,
    requests: {
      total: num(summary.total),
      allowed: num(summary.allowed),
      denied: num(summary.denied),
      errors: num(summary.errors),
      pendingApproval: num(summary.pending),
    },
    refusals: refusals.rows.map((r) => ({ decision: r.decision, code: r.code, reason: r.reason, count: num(r.n) })),
    tables: tables.rows.map((r) => ({ table: r.name, requests: num(r.requests), rows: num(r.rows) })),
    fields: fields.rows.map((r) => ({ table: r.t, field: r.f, mask: r.mask, rule: r.rule, requests: num(r.requests), rows: num(r.rows) })),
    rows: num(summary.rows),
    subjects,
    privacySpend: { releases: num(summary.releases), epsilon: num(summary.epsilon), delta: num(summary.delta), rho: num(summary.rho) },
    ...notificationDuties(context.rules, subjects.byJurisdiction, clock),
  };
}
