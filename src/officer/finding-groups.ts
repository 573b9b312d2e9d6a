import type { Queryable } from '../sql/index.ts';
import { type FindingFilter, findingSource, SEVERITY_ORDER, severityOf } from './compliance-queries.ts';
import { type AuditFilter, bindParam } from './filter.ts';
import { num } from './sql-values.ts';
import { findingSummaryConditions } from './summary-queries.ts';

/**
 * Findings grouped by what an officer decides on once: one agent, check, outcome and jurisdiction. An
 * acknowledgement (or resolution) of a group covers its findings up to the newest one at the time, so findings
 * recorded after it count as new. finding_acks keeps '' for an absent key value, so a group's key matches its rows.
 */

export type FindingAckStatus = 'acknowledged' | 'resolved';

export interface FindingGroupKey {
  agent: string | null;
  check: string | null;
  outcome: string | null;
  jurisdiction: string | null;
}

export interface FindingAck extends FindingGroupKey {
  id: number;
  status: FindingAckStatus;
  throughSeq: number;
  note: string;
  decidedBy: string;
  decidedAt: Date;
}

export interface FindingGroup extends FindingGroupKey {
  actorKind: string;
  rule: string | null;
  findings: number;
  records: number;
  firstSeen: Date;
  lastSeen: Date;
  /** The newest records of the group, newest first. */
  seqs: number[];
  /** Findings after the group's acknowledgement: all of them when it has none. */
  newFindings: number;
  ack: FindingAck | null;
}

/** How many record seqs a group links to. */
export const GROUP_SEQS = 5;

const KEY_COLUMNS = ['agent_id', 'check_name', 'outcome', 'jurisdiction'] as const;
const orNull = (value: string) => (value === '' ? null : value);

/** The acknowledgement in force for each group: its latest. */
const LATEST_ACKS = `SELECT DISTINCT ON (${KEY_COLUMNS.join(', ')}) * FROM finding_acks ORDER BY ${KEY_COLUMNS.join(', ')}, id DESC`;

interface AckRow {
  id: number;
  agent_id: string;
  check_name: string;
  outcome: string;
  jurisdiction: string;
  status: FindingAckStatus;
  through_seq: number;
  note: string;
  decided_by: string;
  decided_at: Date;
}

function ackOf(row: AckRow): FindingAck {
  return {
    id: num(row.id),
    agent: orNull(row.agent_id),
    check: orNull(row.check_name),
    outcome: orNull(row.outcome),
    jurisdiction: orNull(row.jurisdiction),
    status: row.status,
    throughSeq: num(row.through_seq),
    note: row.note,
    decidedBy: row.decided_by,
    decidedAt: new Date(row.decided_at),
  };
}

interface GroupRow {
  agent_id: string;
  check_name: string;
  outcome: string;
  jurisdiction: string;
  actor_kind: string;
  rule: string | null;
  findings: number;
  records: number;
  first_seen: Date;
  last_seen: Date;
  seqs: unknown[];
  new_findings: number;
  ack: AckRow | null;
}

const GROUP_ORDER = 'g.severity, g.new_findings DESC, g.findings DESC, g.agent_id, g.check_name, g.jurisdiction';

/** Groups of the findings the filters select, most severe first, then the most findings not yet acknowledged. */
export async function findingGroups(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter, limit: number): Promise<FindingGroup[]> {
  const rows = (await summarisedFindingGroups(db, filter, findingFilter, limit)) ?? (await findingGroupsFromLog(db, filter, findingFilter, limit));
  return rows.map((r) => ({
    agent: orNull(r.agent_id),
    check: orNull(r.check_name),
    outcome: orNull(r.outcome),
    jurisdiction: orNull(r.jurisdiction),
    actorKind: r.actor_kind,
    rule: r.rule,
    findings: num(r.findings),
    records: num(r.records),
    firstSeen: new Date(r.first_seen),
    lastSeen: new Date(r.last_seen),
    seqs: r.seqs.map(num),
    newFindings: num(r.new_findings),
    ack: r.ack && ackOf(r.ack),
  }));
}

/**
 * The groups from the hourly finding summary, or null when it cannot answer the filters (see summary-queries.ts).
 * A group's newest records and its findings after its acknowledgement come from audit_finding_records, read from
 * the group's newest end: the work grows with the groups and with the findings since their acknowledgements, not
 * with the log.
 */
export async function summarisedFindingGroups(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter, limit: number): Promise<GroupRow[] | null> {
  const params: unknown[] = [];
  const where = findingSummaryConditions(filter, findingFilter, params);
  if (where === null) return null;
  // The filters read each record of the group as they read a summary row: its hour, key and finding.
  const recordsOf = (condition: string) =>
    `(SELECT r.*, date_trunc('hour', r.recorded_at, 'UTC') AS hour FROM audit_finding_records r
       WHERE (r.${KEY_COLUMNS.join(', r.')}) = (g.${KEY_COLUMNS.join(', g.')}) AND ${condition}) s WHERE ${where}`;
  const { rows } = await db.query<GroupRow>(
    `WITH g AS (
       SELECT coalesce(s.actor_id, '') AS agent_id, coalesce(s.check_name, '') AS check_name, coalesce(s.outcome, '') AS outcome,
              coalesce(s.jurisdiction, '') AS jurisdiction, max(s.actor_kind) AS actor_kind, max(s.rule) AS rule, sum(s.findings) AS findings,
              sum(s.records) AS records, min(s.first_seen) AS first_seen, max(s.last_seen) AS last_seen, min(${severityOf('s.outcome')}) AS severity
         FROM audit_finding_summary s WHERE ${where}
        GROUP BY 1, 2, 3, 4
     ), acked AS (
       SELECT g.*, k.id AS ack_id,
              CASE WHEN k.id IS NULL THEN g.findings ELSE (SELECT coalesce(sum(s.findings), 0) FROM ${recordsOf('r.seq > k.through_seq')}) END AS new_findings
         FROM g LEFT JOIN (${LATEST_ACKS}) k USING (${KEY_COLUMNS.join(', ')})
     )
     SELECT g.*, ARRAY(SELECT s.seq FROM ${recordsOf('TRUE')} ORDER BY s.seq DESC LIMIT ${GROUP_SEQS}) AS seqs, to_jsonb(ack) AS ack
       FROM acked g LEFT JOIN finding_acks ack ON ack.id = g.ack_id
      ORDER BY ${GROUP_ORDER} LIMIT ${bindParam(params, limit)}`,
    params,
  );
  return rows;
}

/** The groups from a scan of the log's findings: any filter. */
export async function findingGroupsFromLog(db: Queryable, filter: AuditFilter, findingFilter: FindingFilter, limit: number): Promise<GroupRow[]> {
  const params: unknown[] = [];
  const source = findingSource(filter, findingFilter, params);
  const { rows } = await db.query<GroupRow>(
    `WITH f AS (
       SELECT a.seq, a.recorded_at, a.actor_kind, coalesce(a.actor_id, '') AS agent_id, coalesce(f.value->>'check', '') AS check_name,
              coalesce(f.value->>'outcome', '') AS outcome, coalesce(f.value->>'jurisdiction', '') AS jurisdiction, f.value
         FROM ${source}
     ), g AS (
       SELECT f.agent_id, f.check_name, f.outcome, f.jurisdiction, max(f.actor_kind) AS actor_kind, max(f.value->>'rule') AS rule,
              count(*) AS findings, count(DISTINCT f.seq) AS records, min(f.recorded_at) AS first_seen, max(f.recorded_at) AS last_seen,
              (array_agg(DISTINCT f.seq ORDER BY f.seq DESC))[1:${GROUP_SEQS}] AS seqs,
              count(*) FILTER (WHERE k.id IS NULL OR f.seq > k.through_seq) AS new_findings, max(k.id) AS ack_id, min(${SEVERITY_ORDER}) AS severity
         FROM f LEFT JOIN (${LATEST_ACKS}) k USING (${KEY_COLUMNS.join(', ')})
        GROUP BY 1, 2, 3, 4
     )
     SELECT g.*, to_jsonb(ack) AS ack FROM g LEFT JOIN finding_acks ack ON ack.id = g.ack_id
      ORDER BY ${GROUP_ORDER}
      LIMIT ${bindParam(params, limit)}`,
    params,
  );
  return rows;
}

/** No finding of the group exists: there is nothing to acknowledge. */
export class NoSuchFindingGroupError extends Error {
  constructor() {
    super('No finding of this agent, check, outcome and jurisdiction is in the audit log.');
    this.name = 'NoSuchFindingGroupError';
  }
}

/** Records an officer's acknowledgement (or resolution) of a group's findings up to its newest one. */
export async function acknowledgeFindings(
  db: Queryable,
  key: FindingGroupKey,
  decision: { status: FindingAckStatus; by: string; note: string },
): Promise<FindingAck> {
  const { rows } = await db.query<AckRow>(
    `INSERT INTO finding_acks (${KEY_COLUMNS.join(', ')}, status, through_seq, note, decided_by)
     SELECT $1, $2, $3, $4, $5, max(r.seq), $6, $7
       FROM audit_finding_records r WHERE (r.${KEY_COLUMNS.join(', r.')}) = ($1, $2, $3, $4)
     HAVING count(*) > 0
     RETURNING *`,
    [key.agent ?? '', key.check ?? '', key.outcome ?? '', key.jurisdiction ?? '', decision.status, decision.note, decision.by],
  );
  if (!rows[0]) throw new NoSuchFindingGroupError();
  return ackOf(rows[0]);
}
