import type { Queryable } from '../sql/index.ts';
import type { FindingFilter } from './compliance-queries.ts';
import { type AuditFilter, bindParam } from './filter.ts';

/**
 * The officer's panels answered from the summaries the audit log's triggers keep (150-officer-summaries.sql)
 * instead of a scan of every record. Each function returns null when the filter asks for something the
 * summaries cannot answer exactly (a table or field, a time bound inside an hour, …); the caller then scans.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const alignedTo = (iso: string, unitMs: number) => {
  const time = Date.parse(iso);
  return Number.isFinite(time) && time % unitMs === 0;
};

/**
 * Conditions over a summary aliased `s` for the filter, or null when hourly buckets cannot answer it. The
 * jurisdiction filter means the subject's jurisdiction, which only the flow summary keeps.
 */
function summaryConditions(filter: AuditFilter, params: unknown[], byJurisdiction: boolean): string | null {
  if (filter.table || filter.field || filter.onBehalfOf || (filter.jurisdiction && !byJurisdiction)) return null;
  if ((filter.from && !alignedTo(filter.from, HOUR_MS)) || (filter.to && !alignedTo(filter.to, HOUR_MS))) return null;
  const bind = (value: unknown) => bindParam(params, value);
  const conditions = ['TRUE'];
  if (filter.agent) conditions.push(`s.actor_id = ${bind(filter.agent)}`);
  if (filter.purpose) conditions.push(`s.purpose = ${bind(filter.purpose)}`);
  if (filter.from) conditions.push(`s.hour >= ${bind(filter.from)}::timestamptz`);
  if (filter.to) conditions.push(`s.hour < ${bind(filter.to)}::timestamptz`);
  if (filter.decision) conditions.push(`s.decision = ${bind(filter.decision)}`);
  if (filter.actorKinds && filter.actorKinds.length > 0) conditions.push(`s.actor_kind = ANY(${bind([...filter.actorKinds])}::text[])`);
  if (filter.jurisdiction) conditions.push(`s.jurisdiction = ${bind(filter.jurisdiction)}`);
  return conditions.join(' AND ');
}

/**
 * Conditions over audit_subject_reach `r` (where '' is an absent value) for distinct subjects,
 * or null when they cannot count them exactly. They know each subject's last day per actor: exact for "since a UTC
 * day, up to now", and only since the latest prune's cut-off (subjects of pruned records stay in them).
 */
async function reachConditions(db: Queryable, filter: AuditFilter, params: unknown[], byJurisdiction: boolean): Promise<string | null> {
  if (filter.table || filter.field || filter.onBehalfOf || filter.purpose || filter.decision || (filter.jurisdiction && !byJurisdiction)) return null;
  if (filter.from && !alignedTo(filter.from, DAY_MS)) return null;
  const { rows } = await db.query<{ pruned_before: Date | null; newest: Date | null }>(
    'SELECT (SELECT max(pruned_before) FROM audit_checkpoints) AS pruned_before, (SELECT max(recorded_at) FROM audit_log) AS newest',
  );
  const prunedBefore = rows[0]?.pruned_before ? new Date(rows[0].pruned_before).getTime() : null;
  const newest = rows[0]?.newest ? new Date(rows[0].newest).getTime() : null;
  if (prunedBefore !== null && (!filter.from || Date.parse(filter.from) < prunedBefore)) return null;
  if (filter.to && newest !== null && Date.parse(filter.to) <= newest) return null;
  const bind = (value: unknown) => bindParam(params, value);
  const conditions = ['TRUE'];
  if (filter.agent) conditions.push(`r.actor_id = ${bind(filter.agent)}`);
  if (filter.from) conditions.push(`r.last_day >= ${bind(new Date(Date.parse(filter.from)).toISOString().slice(0, 10))}::date`);
  if (filter.actorKinds && filter.actorKinds.length > 0) conditions.push(`r.actor_kind = ANY(${bind([...filter.actorKinds])}::text[])`);
  if (filter.jurisdiction) conditions.push(`r.jurisdiction = ${bind(filter.jurisdiction)}`);
  return conditions.join(' AND ');
}

export async function summarisedAccessCount(db: Queryable, filter: AuditFilter): Promise<unknown | null> {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, false);
  if (where === null) return null;
  const { rows } = await db.query<{ n: unknown }>(`SELECT coalesce(sum(s.records), 0) AS n FROM audit_summary s WHERE ${where}`, params);
  return rows[0]?.n ?? 0;
}

export async function summarisedAccessesByDay(db: Queryable, filter: AuditFilter) {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, false);
  if (where === null) return null;
  const { rows } = await db.query<{ day: string; actor_kind: string; actor_id: string | null; n: number }>(
    `SELECT to_char(s.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, s.actor_kind, s.actor_id, sum(s.records) AS n
       FROM audit_summary s WHERE ${where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    params,
  );
  return rows;
}

export async function summarisedDecisionBreakdown(db: Queryable, filter: AuditFilter) {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, false);
  if (where === null) return null;
  const { rows } = await db.query<{ decision: string; code: string | null; n: number }>(
    `SELECT s.decision, s.code, sum(s.records) AS n FROM audit_summary s WHERE ${where} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    params,
  );
  return rows;
}

export interface AgentSummaryRow {
  actor_kind: string;
  actor_id: string | null;
  location: string | null;
  requests: number;
  allowed: number;
  denied: number;
  errors: number;
  pending: number;
  rows: number;
  withheld: number;
  epsilon: number | null;
  subjects: number | null;
}

export async function summarisedAgentSummaries(db: Queryable, filter: AuditFilter): Promise<AgentSummaryRow[] | null> {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, false);
  const reach = where === null ? null : await reachConditions(db, filter, params, false);
  if (where === null || reach === null) return null;
  const { rows } = await db.query<AgentSummaryRow>(
    `WITH totals AS (
       SELECT s.actor_kind, s.actor_id, max(s.actor_location) AS location, sum(s.records) AS requests,
              coalesce(sum(s.records) FILTER (WHERE s.decision = 'allowed'), 0) AS allowed,
              coalesce(sum(s.records) FILTER (WHERE s.decision = 'denied'), 0) AS denied,
              coalesce(sum(s.records) FILTER (WHERE s.decision = 'error'), 0) AS errors,
              coalesce(sum(s.records) FILTER (WHERE s.decision = 'pending_approval'), 0) AS pending,
              sum(s.row_count) AS rows, sum(s.withheld_rows) AS withheld, sum(s.epsilon) AS epsilon
         FROM audit_summary s WHERE ${where} GROUP BY 1, 2
     ), reached AS MATERIALIZED (
       SELECT r.actor_kind, nullif(r.actor_id, '') AS actor_id, count(DISTINCT r.subject) AS n FROM audit_subject_reach r WHERE ${reach} GROUP BY 1, 2
     )
     SELECT t.*, r.n AS subjects
       FROM totals t LEFT JOIN reached r ON r.actor_kind = t.actor_kind AND r.actor_id IS NOT DISTINCT FROM t.actor_id
      ORDER BY t.requests DESC, 1, 2`,
    params,
  );
  return rows;
}

export interface FlowRow {
  agent: string | null;
  location: string | null;
  jurisdiction: string | null;
  records: number;
  subjects: number;
}

export async function summarisedFlows(db: Queryable, filter: AuditFilter, byAgent: boolean): Promise<FlowRow[] | null> {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, true);
  const reach = where === null ? null : await reachConditions(db, filter, params, true);
  if (where === null || reach === null) return null;
  const agent = (column: string) => (byAgent ? column : 'NULL::text');
  // Materialised: the join on IS NOT DISTINCT FROM cannot hash, and an inlined count would run once per flow.
  const { rows } = await db.query<FlowRow>(
    `WITH flows AS (
       SELECT ${agent('s.actor_id')} AS agent, s.actor_location AS location, s.jurisdiction, sum(s.records) AS records
         FROM audit_flow_summary s WHERE ${where} GROUP BY 1, 2, 3
     ), reached AS MATERIALIZED (
       SELECT ${agent("nullif(r.actor_id, '')")} AS agent, nullif(r.actor_location, '') AS location, nullif(r.jurisdiction, '') AS jurisdiction,
              count(DISTINCT r.subject) AS subjects
         FROM audit_subject_reach r WHERE ${reach} GROUP BY 1, 2, 3
     )
     SELECT f.agent, f.location, f.jurisdiction, f.records, coalesce(r.subjects, 0) AS subjects
       FROM flows f LEFT JOIN reached r
         ON r.agent IS NOT DISTINCT FROM f.agent AND r.location IS NOT DISTINCT FROM f.location AND r.jurisdiction IS NOT DISTINCT FROM f.jurisdiction
      ORDER BY 1, 2, 3`,
    params,
  );
  return rows;
}

export interface FieldAccessRow {
  actor_kind: string;
  actor_id: string | null;
  t: string;
  f: string;
  mask: string;
  records: number;
  rows: number;
}

export async function summarisedFieldAccessCounts(db: Queryable, filter: AuditFilter, fieldKeys: readonly string[]): Promise<FieldAccessRow[] | null> {
  const params: unknown[] = [];
  const where = summaryConditions(filter, params, false);
  if (where === null) return null;
  const { rows } = await db.query<FieldAccessRow>(
    `SELECT s.actor_kind, s.actor_id, s.table_name AS t, s.field_name AS f, s.mask, sum(s.records) AS records, sum(s.row_count) AS rows
       FROM audit_field_summary s WHERE ${where} AND s.field_key = ANY(${bindParam(params, [...fieldKeys])}::text[])
      GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 2, 3, 4`,
    params,
  );
  return rows;
}

export interface FindingCountRow {
  check_name: string | null;
  outcome: string | null;
  jurisdiction: string | null;
  findings: number;
  records: number;
}

/**
 * Conditions over findings `s` (hour, record key, check_name, outcome, jurisdiction) for the filters, or null when
 * hourly buckets cannot answer them. The finding's jurisdiction, not the record's, is what a jurisdiction filter
 * means here (as findingSource reads it).
 */
export function findingSummaryConditions(filter: AuditFilter, findingFilter: FindingFilter, params: unknown[]): string | null {
  const where = summaryConditions({ ...filter, jurisdiction: null }, params, false);
  if (where === null) return null;
  const conditions = [where];
  if (findingFilter.jurisdiction) conditions.push(`s.jurisdiction = ${bindParam(params, findingFilter.jurisdiction)}`);
  if (findingFilter.outcomes && findingFilter.outcomes.length > 0)
    conditions.push(`s.outcome = ANY(${bindParam(params, [...findingFilter.outcomes])}::text[])`);
  if (findingFilter.check) conditions.push(`s.check_name = ${bindParam(params, findingFilter.check)}`);
  return conditions.join(' AND ');
}

export async function summarisedFindingCounts(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter): Promise<FindingCountRow[] | null> {
  const params: unknown[] = [];
  const where = findingSummaryConditions(filter, findingFilter, params);
  if (where === null) return null;
  const { rows } = await db.query<FindingCountRow>(
    `SELECT s.check_name, s.outcome, s.jurisdiction, sum(s.findings) AS findings, sum(s.records) AS records
       FROM audit_finding_summary s WHERE ${where}
      GROUP BY 1, 2, 3 ORDER BY min(CASE s.outcome WHEN 'deny' THEN 0 WHEN 'flag' THEN 1 WHEN 'allow' THEN 2 ELSE 3 END), 1, 3`,
    params,
  );
  return rows;
}

export interface WithheldRow {
  actor_kind: string;
  actor_id: string | null;
  location: string | null;
  t: string | null;
  jurisdictions: unknown;
  records: number;
  rows: number | null;
}

/** A jurisdiction filter keeps the entries that name it, as withheldCounts reads it. */
export async function summarisedWithheldCounts(db: Queryable, filter: AuditFilter): Promise<WithheldRow[] | null> {
  const params: unknown[] = [];
  const where = summaryConditions({ ...filter, jurisdiction: null }, params, false);
  if (where === null) return null;
  const conditions = [where, `s.decision = 'allowed'`];
  if (filter.jurisdiction) conditions.push(`s.jurisdictions @> jsonb_build_array(${bindParam(params, filter.jurisdiction)}::text)`);
  const { rows } = await db.query<WithheldRow>(
    `SELECT s.actor_kind, s.actor_id, max(s.actor_location) AS location, s.table_name AS t, s.jurisdictions,
            sum(s.records) AS records, sum(s.row_count) AS rows
       FROM audit_withheld_summary s WHERE ${conditions.join(' AND ')}
      GROUP BY 1, 2, 4, 5 ORDER BY 7 DESC, 2, 4`,
    params,
  );
  return rows;
}
