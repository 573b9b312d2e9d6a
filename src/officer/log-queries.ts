import { type AuditRecord, recordFromRow } from '../audit/index.ts';
import type { Queryable } from '../sql/index.ts';
import { type AuditFilter, auditConditions } from './filter.ts';
import { jsonNumber, num, withheldRowsOf } from './sql-values.ts';
import {
  type AgentSummaryRow,
  type FieldAccessRow,
  summarisedFieldAccessCounts,
  summarisedAccessCount,
  summarisedAccessesByDay,
  summarisedAgentSummaries,
  summarisedDecisionBreakdown,
} from './summary-queries.ts';

/**
 * Read-only questions an officer asks of the audit log. Each is one parameterised statement; filters only
 * ever contribute fixed SQL fragments and positional parameters (see filter.ts).
 */

export interface ActorKey {
  actorKind: string;
  actorId: string | null;
}

export interface DailyAccess extends ActorKey {
  day: string;
  requests: number;
}

export interface DecisionCount {
  decision: string;
  code: string | null;
  count: number;
}

export interface AgentSummary extends ActorKey {
  location: string | null;
  requests: number;
  allowed: number;
  denied: number;
  errors: number;
  pendingApproval: number;
  rows: number;
  distinctSubjects: number;
  /** Rows transfer rules kept out of this caller's allowed answers. */
  withheldRows: number;
  /** Σε the records declare (basic composition; a replayed answer declares 0). */
  epsilon: number;
}

export interface FieldAccessCount extends ActorKey {
  table: string;
  field: string;
  mask: string;
  records: number;
  rows: number;
}

export const MAX_PAGE = 500;

/** One record of the log, or null when no record has this seq (or it was pruned). */
export async function auditRecord(db: Queryable, seq: number | string): Promise<AuditRecord | null> {
  const { rows } = await db.query<Parameters<typeof recordFromRow>[0]>('SELECT a.* FROM audit_log a WHERE a.seq = $1', [seq]);
  return rows[0] ? recordFromRow(rows[0]) : null;
}

export async function accessLog(db: Queryable, filter: AuditFilter, limit: number, offset: number): Promise<AuditRecord[]> {
  const params: unknown[] = [];
  const where = auditConditions(filter, params);
  params.push(limit, offset);
  const { rows } = await db.query<Parameters<typeof recordFromRow>[0]>(
    `SELECT a.* FROM audit_log a WHERE ${where} ORDER BY a.seq DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  return rows.map(recordFromRow);
}

export async function accessCount(db: Queryable, filter: AuditFilter): Promise<number> {
  const summarised = await summarisedAccessCount(db, filter);
  if (summarised !== null) return num(summarised);
  const params: unknown[] = [];
  const { rows } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM audit_log a WHERE ${auditConditions(filter, params)}`, params);
  return num(rows[0]?.n);
}

export async function accessesByDay(db: Queryable, filter: AuditFilter): Promise<DailyAccess[]> {
  const rows = (await summarisedAccessesByDay(db, filter)) ?? (await accessesByDayFromLog(db, filter));
  return rows.map((r) => ({ day: r.day, actorKind: r.actor_kind, actorId: r.actor_id, requests: num(r.n) }));
}

export async function decisionBreakdown(db: Queryable, filter: AuditFilter): Promise<DecisionCount[]> {
  const rows = (await summarisedDecisionBreakdown(db, filter)) ?? (await decisionBreakdownFromLog(db, filter));
  return rows.map((r) => ({ decision: r.decision, code: r.code, count: num(r.n) }));
}

export async function agentSummaries(db: Queryable, filter: AuditFilter): Promise<AgentSummary[]> {
  const rows = (await summarisedAgentSummaries(db, filter)) ?? (await agentSummariesFromLog(db, filter));
  return rows.map((r) => ({
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    location: r.location,
    requests: num(r.requests),
    allowed: num(r.allowed),
    denied: num(r.denied),
    errors: num(r.errors),
    pendingApproval: num(r.pending),
    rows: num(r.rows),
    distinctSubjects: num(r.subjects),
    withheldRows: num(r.withheld),
    epsilon: num(r.epsilon),
  }));
}

/*
 * The scans of the whole log the summaries replace: still the answer for filters the summaries do not keep
 * (a table, a field, a record's jurisdiction, an instant inside an hour), and what tests compare them with.
 */

export async function accessesByDayFromLog(db: Queryable, filter: AuditFilter) {
  const params: unknown[] = [];
  const { rows } = await db.query<{ day: string; actor_kind: string; actor_id: string | null; n: number }>(
    `SELECT to_char(a.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, a.actor_kind, a.actor_id, count(*) AS n
       FROM audit_log a WHERE ${auditConditions(filter, params)}
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    params,
  );
  return rows;
}

export async function decisionBreakdownFromLog(db: Queryable, filter: AuditFilter) {
  const params: unknown[] = [];
  const { rows } = await db.query<{ decision: string; code: string | null; n: number }>(
    `SELECT a.decision, a.code, count(*) AS n FROM audit_log a WHERE ${auditConditions(filter, params)}
      GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    params,
  );
  return rows;
}

export async function agentSummariesFromLog(db: Queryable, filter: AuditFilter): Promise<AgentSummaryRow[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<AgentSummaryRow>(
    `WITH selected AS (SELECT a.*, ${withheldRowsOf('a')} AS withheld_rows FROM audit_log a WHERE ${auditConditions(filter, params)}),
          subjects AS (
            SELECT x.actor_kind, x.actor_id, count(DISTINCT s.subject) AS n
              FROM selected x JOIN audit_subjects s ON s.audit_seq = x.seq
             GROUP BY 1, 2)
     SELECT x.actor_kind, x.actor_id, max(x.actor_location) AS location, count(*) AS requests,
            count(*) FILTER (WHERE x.decision = 'allowed') AS allowed,
            count(*) FILTER (WHERE x.decision = 'denied') AS denied,
            count(*) FILTER (WHERE x.decision = 'error') AS errors,
            count(*) FILTER (WHERE x.decision = 'pending_approval') AS pending,
            coalesce(sum(x.row_count), 0) AS rows,
            coalesce(sum(x.withheld_rows), 0) AS withheld,
            sum(${jsonNumber('x.privacy_cost', 'epsilon')}) AS epsilon,
            max(s.n) AS subjects
       FROM selected x
       LEFT JOIN subjects s ON s.actor_kind = x.actor_kind AND s.actor_id IS NOT DISTINCT FROM x.actor_id
      GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2`,
    params,
  );
  return rows;
}

/** How often each actor received each of `fieldKeys` ("table.field"), and with which mask. */
export async function fieldAccessCounts(db: Queryable, filter: AuditFilter, fieldKeys: readonly string[]): Promise<FieldAccessCount[]> {
  if (fieldKeys.length === 0) return [];
  const rows = (await summarisedFieldAccessCounts(db, filter, fieldKeys)) ?? (await fieldAccessCountsFromLog(db, filter, fieldKeys));
  return rows.map((r) => ({ actorKind: r.actor_kind, actorId: r.actor_id, table: r.t, field: r.f, mask: r.mask, records: num(r.records), rows: num(r.rows) }));
}

export async function fieldAccessCountsFromLog(db: Queryable, filter: AuditFilter, fieldKeys: readonly string[]): Promise<FieldAccessRow[]> {
  const params: unknown[] = [];
  const where = auditConditions(filter, params);
  params.push([...fieldKeys]);
  const { rows } = await db.query<FieldAccessRow>(
    `SELECT a.actor_kind, a.actor_id, f.value->>'table' AS t, f.value->>'field' AS f, coalesce(f.value->>'mask', 'clear') AS mask,
            count(*) AS records, coalesce(sum(a.row_count), 0) AS rows
       FROM audit_log a CROSS JOIN LATERAL jsonb_array_elements(a.fields) AS f(value)
      WHERE ${where} AND (f.value->>'table') || '.' || (f.value->>'field') = ANY($${params.length}::text[])
      GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 2, 3, 4`,
    params,
  );
  return rows;
}
