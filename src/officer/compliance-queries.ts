import type { Outcome } from '../compliance/index.ts';
import type { Queryable } from '../sql/index.ts';
import { type AuditFilter, auditConditions, bindParam } from './filter.ts';
import { jsonElements, jsonNumber, num } from './sql-values.ts';
import { type FindingCountRow, summarisedFindingCounts, summarisedWithheldCounts, type WithheldRow } from './summary-queries.ts';

/**
 * What query-time compliance left in the audit log: the findings of each record (`findings`, see
 * src/compliance/request.ts `Finding`) and the rows transfer rules withheld (`details.withheld`).
 */

/** Narrows findings. A finding's jurisdiction is the one whose rules it applies: its data subjects'. */
export interface FindingFilter {
  jurisdiction?: string | null | undefined;
  outcomes?: readonly Outcome[] | null | undefined;
  check?: string | null | undefined;
}

export interface FindingRow {
  seq: number;
  recordedAt: Date;
  actorKind: string;
  actorId: string | null;
  purpose: string | null;
  decision: string;
  code: string | null;
  finding: Record<string, unknown>;
}

export interface FindingCount {
  check: string | null;
  outcome: string | null;
  jurisdiction: string | null;
  findings: number;
  records: number;
}

export interface WithheldCount {
  actorKind: string;
  actorId: string | null;
  location: string | null;
  table: string | null;
  jurisdictions: string[];
  records: number;
  rows: number;
}

/** Most severe first: the order an officer reads findings in, of the outcome that `outcome` (SQL) reads. */
export const severityOf = (outcome: string) => `CASE ${outcome} WHEN 'deny' THEN 0 WHEN 'flag' THEN 1 WHEN 'allow' THEN 2 ELSE 3 END`;
export const SEVERITY_ORDER = severityOf("f.value->>'outcome'");

/** `audit_log a` joined to each of its findings `f`, with the record filter and the finding filter applied. */
export function findingSource(filter: AuditFilter, findingFilter: FindingFilter, params: unknown[]): string {
  // The record's jurisdictions are the subjects it returned; a finding names its own, which is what a
  // jurisdiction filter means here (a refused request returned no subjects but still has findings).
  const conditions = [auditConditions({ ...filter, jurisdiction: null }, params), `jsonb_typeof(f.value) = 'object'`];
  if (findingFilter.jurisdiction) conditions.push(`f.value->>'jurisdiction' = ${bindParam(params, findingFilter.jurisdiction)}`);
  if (findingFilter.outcomes && findingFilter.outcomes.length > 0) {
    conditions.push(`f.value->>'outcome' = ANY(${bindParam(params, [...findingFilter.outcomes])}::text[])`);
  }
  if (findingFilter.check) conditions.push(`f.value->>'check' = ${bindParam(params, findingFilter.check)}`);
  return `audit_log a CROSS JOIN LATERAL ${jsonElements('a.findings')} WITH ORDINALITY AS f(value, n) WHERE ${conditions.join(' AND ')}`;
}

/** One row per finding, most severe first, then newest first. */
export async function findings(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter, limit: number): Promise<FindingRow[]> {
  const params: unknown[] = [];
  const source = findingSource(filter, findingFilter, params);
  const { rows } = await db.query<{
    seq: number;
    recorded_at: Date;
    actor_kind: string;
    actor_id: string | null;
    purpose: string | null;
    decision: string;
    code: string | null;
    finding: Record<string, unknown>;
  }>(
    `SELECT a.seq, a.recorded_at, a.actor_kind, a.actor_id, a.purpose, a.decision, a.code, f.value AS finding
       FROM ${source}
      ORDER BY ${SEVERITY_ORDER}, a.seq DESC, f.n LIMIT ${bindParam(params, limit)}`,
    params,
  );
  return rows.map((r) => ({
    seq: num(r.seq),
    recordedAt: new Date(r.recorded_at),
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    purpose: r.purpose,
    decision: r.decision,
    code: r.code,
    finding: r.finding,
  }));
}

/** How many findings there are per check, outcome and jurisdiction, and on how many records. */
export async function findingCounts(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter): Promise<FindingCount[]> {
  const rows = (await summarisedFindingCounts(db, filter, findingFilter)) ?? (await findingCountsFromLog(db, filter, findingFilter));
  return rows.map((r) => ({ check: r.check_name, outcome: r.outcome, jurisdiction: r.jurisdiction, findings: num(r.findings), records: num(r.records) }));
}

/** The counts by a scan of the log: filters the summaries do not keep, and tests, use it. */
export async function findingCountsFromLog(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter): Promise<FindingCountRow[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<FindingCountRow>(
    `SELECT f.value->>'check' AS check_name, f.value->>'outcome' AS outcome, f.value->>'jurisdiction' AS jurisdiction,
            count(*) AS findings, count(DISTINCT a.seq) AS records
       FROM ${findingSource(filter, findingFilter, params)}
      GROUP BY 1, 2, 3 ORDER BY min(${SEVERITY_ORDER}), 1, 3`,
    params,
  );
  return rows;
}

/**
 * Rows kept out of allowed answers by transfer rules, per caller, table and withheld jurisdictions. A record
 * counts the rows of all its withheld jurisdictions together, so they stay together here; a jurisdiction
 * filter keeps the entries that name it.
 */
export async function withheldCounts(db: Queryable, filter: AuditFilter): Promise<WithheldCount[]> {
  const rows = (await summarisedWithheldCounts(db, filter)) ?? (await withheldCountsFromLog(db, filter));
  return rows.map((r) => ({
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    location: r.location,
    table: r.t,
    jurisdictions: Array.isArray(r.jurisdictions) ? r.jurisdictions.filter((j): j is string => typeof j === 'string') : [],
    records: num(r.records),
    rows: num(r.rows),
  }));
}

/** The withheld rows by a scan of the log: filters the summaries do not keep, and tests, use it. */
export async function withheldCountsFromLog(db: Queryable, filter: AuditFilter): Promise<WithheldRow[]> {
  const params: unknown[] = [];
  const conditions = [auditConditions({ ...filter, jurisdiction: null }, params), `a.decision = 'allowed'`, `jsonb_typeof(w.value) = 'object'`];
  if (filter.jurisdiction) conditions.push(`w.value->'jurisdictions' @> jsonb_build_array(${bindParam(params, filter.jurisdiction)}::text)`);
  const { rows } = await db.query<WithheldRow>(
    `SELECT a.actor_kind, a.actor_id, max(a.actor_location) AS location, w.value->>'table' AS t, w.value->'jurisdictions' AS jurisdictions,
            count(DISTINCT a.seq) AS records, coalesce(sum(${jsonNumber('w.value', 'rows')}), 0) AS rows
       FROM audit_log a CROSS JOIN LATERAL ${jsonElements("a.details->'withheld'")} AS w(value)
      WHERE ${conditions.join(' AND ')}
      GROUP BY 1, 2, 4, 5 ORDER BY 7 DESC, 2, 4`,
    params,
  );
  return rows;
}
