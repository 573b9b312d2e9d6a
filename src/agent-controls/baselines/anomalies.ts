import { type ActorKind, type AuditDraft, appendAuditRecords, stateChangeDraft } from '../../audit/index.ts';
import type { Queryable } from '../../sql/index.ts';
import type { AnomalyKind, Finding } from './scoring.ts';

/** An anomaly as officers see it (agent_anomalies). */
export interface Anomaly {
  id: number;
  agentId: string;
  purpose: string;
  kind: AnomalyKind;
  statistic: string;
  /** The new field or the hour; null otherwise. */
  detail: string | null;
  value: number;
  threshold: number | null;
  score: number | null;
  baseline: Finding['baseline'];
  windowStart: Date | null;
  windowEnd: Date | null;
  detectedAt: Date;
  requestId: string | null;
  auditSeq: number | null;
  recordSeq: number | null;
  quarantines: boolean;
  occurrences: number;
  lastSeenAt: Date;
  status: 'open' | 'cleared';
  clearedBy: string | null;
  clearedAt: Date | null;
  note: string | null;
}

/** A finding to be raised for an agent and purpose, with where it was found. */
export interface RaisedFinding extends Finding {
  agentId: string;
  purpose: string;
  windowStart: Date | null;
  windowEnd: Date | null;
  requestId: string | null;
  auditSeq: number | null;
  /** The agent's policy quarantines it for this. */
  quarantines: boolean;
}

interface AnomalyRow {
  id: number | string;
  agent_id: string;
  purpose: string;
  kind: AnomalyKind;
  statistic: string;
  detail: string;
  value: number;
  threshold: number | null;
  score: number | null;
  baseline: Finding['baseline'];
  window_start: Date | null;
  window_end: Date | null;
  detected_at: Date;
  request_id: string | null;
  audit_seq: number | string | null;
  record_seq: number | string | null;
  quarantines: boolean;
  occurrences: number;
  last_seen_at: Date;
  status: Anomaly['status'];
  cleared_by: string | null;
  cleared_at: Date | null;
  note: string | null;
}

const optionalNumber = (value: number | string | null) => (value === null ? null : Number(value));

function fromRow(row: AnomalyRow): Anomaly {
  return {
    id: Number(row.id),
    agentId: row.agent_id,
    purpose: row.purpose,
    kind: row.kind,
    statistic: row.statistic,
    detail: row.detail === '' ? null : row.detail,
    value: Number(row.value),
    threshold: optionalNumber(row.threshold),
    score: optionalNumber(row.score),
    baseline: row.baseline,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    detectedAt: row.detected_at,
    requestId: row.request_id,
    auditSeq: optionalNumber(row.audit_seq),
    recordSeq: optionalNumber(row.record_seq),
    quarantines: row.quarantines,
    occurrences: Number(row.occurrences),
    lastSeenAt: row.last_seen_at,
    status: row.status,
    clearedBy: row.cleared_by,
    clearedAt: row.cleared_at,
    note: row.note,
  };
}

/** Who writes the audit record of an anomaly: the broker's evaluator (an operator-side process, as a CLI command is). */
export const DETECTOR: { kind: ActorKind; id: string } = { kind: 'cli', id: 'anomaly-detector' };

function auditedEvent(
  actor: { kind: ActorKind; id: string | null },
  operationKind: string,
  purpose: string | null,
  details: Record<string, unknown>,
): AuditDraft {
  return stateChangeDraft({ actor, operationKind, purpose, tables: ['agent_anomalies'], details });
}

/** The same anomaly twice in one batch (one agent, purpose, statistic and detail) is one, seen that many times. */
function merged(findings: readonly RaisedFinding[]): Array<RaisedFinding & { occurrences: number }> {
  const byKey = new Map<string, RaisedFinding & { occurrences: number }>();
  for (const finding of findings) {
    const key = JSON.stringify([finding.agentId, finding.purpose, finding.statistic, finding.detail ?? '']);
    const known = byKey.get(key);
    if (known) known.occurrences += 1;
    else byKey.set(key, { ...finding, occurrences: 1 });
  }
  return [...byKey.values()];
}

/**
 * Raises findings as anomalies in the caller's transaction. One already open for the same agent, purpose,
 * statistic and detail is counted again instead; each newly opened one gets an audit record of its own (written
 * under the chain's lock: call this last in a transaction). Returns the anomalies opened.
 */
export async function raiseAnomalies(tx: Queryable, auditKey: Uint8Array, findings: readonly RaisedFinding[]): Promise<Anomaly[]> {
  if (findings.length === 0) return [];
  const rows = merged(findings).map((f) => ({
    agent_id: f.agentId,
    purpose: f.purpose,
    kind: f.kind,
    statistic: f.statistic,
    detail: f.detail ?? '',
    value: f.value,
    threshold: f.threshold,
    score: f.score,
    baseline: f.baseline,
    window_start: f.windowStart?.toISOString() ?? null,
    window_end: f.windowEnd?.toISOString() ?? null,
    request_id: f.requestId,
    audit_seq: f.auditSeq,
    quarantines: f.quarantines,
    occurrences: f.occurrences,
  }));
  const { rows: upserted } = await tx.query<AnomalyRow & { opened: boolean }>(
    `INSERT INTO agent_anomalies (agent_id, purpose, kind, statistic, detail, value, threshold, score, baseline, window_start, window_end,
                                  request_id, audit_seq, quarantines, occurrences)
     SELECT agent_id, purpose, kind, statistic, detail, value, threshold, score, baseline, window_start, window_end,
            request_id, audit_seq, quarantines, occurrences
       FROM jsonb_to_recordset($1::jsonb) AS x(agent_id text, purpose text, kind text, statistic text, detail text, value float8,
            threshold float8, score float8, baseline jsonb, window_start timestamptz, window_end timestamptz, request_id text,
            audit_seq bigint, quarantines boolean, occurrences integer)
     ON CONFLICT (agent_id, purpose, statistic, detail) WHERE status = 'open'
     DO UPDATE SET occurrences = agent_anomalies.occurrences + EXCLUDED.occurrences, last_seen_at = now()
     RETURNING *, (xmax::text = '0') AS opened`,
    [JSON.stringify(rows)],
  );
  const opened = upserted.filter((row) => row.opened).map(fromRow);
  if (opened.length === 0) return [];
  const records = await appendAuditRecords(
    tx,
    auditKey,
    opened.map((a) =>
      auditedEvent(DETECTOR, 'anomaly', a.purpose, {
        anomalyId: a.id,
        agent: a.agentId,
        kind: a.kind,
        statistic: a.statistic,
        detail: a.detail,
        value: a.value,
        threshold: a.threshold,
        score: a.score,
        baseline: a.baseline,
        window: a.windowStart ? { start: a.windowStart.toISOString(), end: a.windowEnd?.toISOString() ?? null } : null,
        requestId: a.requestId,
        auditSeq: a.auditSeq,
        quarantined: a.quarantines,
      }),
    ),
  );
  await tx.query('UPDATE agent_anomalies SET record_seq = u.seq FROM unnest($1::bigint[], $2::bigint[]) AS u(id, seq) WHERE agent_anomalies.id = u.id', [
    opened.map((a) => a.id),
    records.map((r) => r.seq),
  ]);
  return opened.map((a, i) => ({ ...a, recordSeq: records[i]!.seq }));
}

export const ANOMALY_STATUSES = ['open', 'cleared'] as const;

/** Newest first, at most `limit`. */
export async function listAnomalies(
  db: Queryable,
  filter: { status?: Anomaly['status'] | null; agent?: string | null; limit?: number } = {},
): Promise<Anomaly[]> {
  const { rows } = await db.query<AnomalyRow>(
    `SELECT * FROM agent_anomalies WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR agent_id = $2)
     ORDER BY detected_at DESC, id DESC LIMIT $3`,
    [filter.status ?? null, filter.agent ?? null, filter.limit ?? 500],
  );
  return rows.map(fromRow);
}

export interface Quarantine {
  agentId: string;
  since: Date;
  anomalyIds: number[];
}

export async function listQuarantines(db: Queryable): Promise<Quarantine[]> {
  const { rows } = await db.query<{ agent_id: string; since: Date; anomalies: Array<number | string> }>('SELECT * FROM agent_quarantine ORDER BY since');
  return rows.map((row) => ({ agentId: row.agent_id, since: row.since, anomalyIds: row.anomalies.map(Number) }));
}

export async function isQuarantined(db: Queryable, agentId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM agent_quarantine WHERE agent_id = $1', [agentId]);
  return rows.length > 0;
}

export class AnomalyNotOpenError extends Error {
  constructor(id: number) {
    super(`anomaly ${id} does not exist or is no longer open`);
    this.name = 'AnomalyNotOpenError';
  }
}

/**
 * Clears open anomalies (by id, or all of an agent's), noting who and why, and returns them. A cleared new-field
 * anomaly's field joins the agent's baseline: the officer accepted it, so its next use is not new.
 */
async function clearWhere(tx: Queryable, where: string, key: unknown, by: string, note: string): Promise<Anomaly[]> {
  const { rows } = await tx.query<AnomalyRow>(
    `WITH cleared AS (
       UPDATE agent_anomalies SET status = 'cleared', cleared_by = $2, cleared_at = now(), note = $3
        WHERE status = 'open' AND ${where} RETURNING *
     ), accepted AS (
       INSERT INTO agent_baseline_fields (agent_id, purpose, field, first_seen_at, first_seq, version)
       SELECT agent_id, purpose, detail, now(), NULL, (SELECT seq FROM agent_baseline_cursor WHERE id = 1) FROM cleared WHERE kind = 'new_field'
       ON CONFLICT DO NOTHING
     )
     SELECT * FROM cleared ORDER BY id`,
    [key, by, note],
  );
  return rows.map(fromRow);
}

/** Clears one open anomaly; the agent's quarantine ends with its last open quarantining anomaly. */
export async function clearAnomaly(tx: Queryable, id: number, by: string, note: string): Promise<Anomaly> {
  const [cleared] = await clearWhere(tx, 'id = $1', id, by, note);
  if (!cleared) throw new AnomalyNotOpenError(id);
  return cleared;
}

/** Clears every open anomaly of an agent, which ends its quarantine; returns them (none: it was not quarantined). */
export function clearQuarantine(tx: Queryable, agentId: string, by: string, note: string): Promise<Anomaly[]> {
  return clearWhere(tx, 'agent_id = $1', agentId, by, note);
}

/** The audit record of a quarantine cleared outside the officer API (whose requests are audited already): the CLI's. */
export function quarantineClearedRecord(actor: { kind: ActorKind; id: string | null }, agentId: string, note: string, cleared: readonly Anomaly[]): AuditDraft {
  return auditedEvent(actor, 'quarantine_clear', null, { agent: agentId, note, anomalies: cleared.map((a) => a.id) });
}
