import type { FieldAccess } from '../../audit/index.ts';
import type { Db, Queryable } from '../../sql/index.ts';
import { type Anomaly, raiseAnomalies, type RaisedFinding } from './anomalies.ts';
import { type BaselineState, restoreBaseline } from './baseline.ts';
import { observeRecord, type ObservedRecord } from './observations.ts';
import { finishPair, type LocatedFinding, observePair, type PairObservation, type PairRecord } from './pair-evaluation.ts';
import type { AnomalyPolicy } from './policy.ts';

export interface EvaluatorOptions {
  auditKey: Uint8Array;
  /** Each registered agent's policy; records of any other caller are passed over. */
  policies: ReadonlyMap<string, AnomalyPolicy>;
  windowMs: number;
  /** Records read per evaluation at most. */
  batchSize: number;
}

/** What one evaluation did: null when another broker was evaluating. */
export interface Evaluation {
  /** Records read (every caller's), and so how far the cursor moved. */
  records: number;
  /** The cursor after it: the last record evaluated. */
  cursor: number;
  anomalies: Anomaly[];
}

interface LogRow extends ObservedRecord {
  seq: number | string;
  request_id: string;
  actor_kind: string;
  actor_id: string | null;
  purpose: string | null;
  fields: FieldAccess[];
  subjects: string[] | null;
}

interface Pair {
  agentId: string;
  purpose: string;
  policy: AnomalyPolicy;
  records: PairRecord[];
  state: BaselineState;
  fields: Set<string>;
  openAnomalies: number;
  observed?: PairObservation;
}

const pairKey = (agentId: string, purpose: string) => `${agentId}\u0000${purpose}`;

async function readRecords(tx: Queryable, after: number, limit: number): Promise<LogRow[]> {
  const { rows } = await tx.query<LogRow>(
    `SELECT a.seq, a.request_id, a.recorded_at, a.actor_kind, a.actor_id, a.purpose, a.decision, a.code, a.row_count, a.fields,
            a.subject_count, a.privacy_cost, l.subjects
       FROM audit_log a LEFT JOIN audit_subject_lists l ON l.audit_seq = a.seq
      WHERE a.seq > $1 ORDER BY a.seq LIMIT $2`,
    [after, limit],
  );
  return rows;
}

/** The agents' records grouped by agent and purpose, in log order within each. */
function pairsOf(rows: readonly LogRow[], policies: ReadonlyMap<string, AnomalyPolicy>): Map<string, Pair> {
  const pairs = new Map<string, Pair>();
  for (const row of rows) {
    const policy = row.actor_id === null ? undefined : policies.get(row.actor_id);
    if (row.actor_kind !== 'agent' || !policy || row.purpose === null) continue;
    const key = pairKey(row.actor_id!, row.purpose);
    let pair = pairs.get(key);
    if (!pair) {
      pair = { agentId: row.actor_id!, purpose: row.purpose, policy, records: [], state: restoreBaseline(null), fields: new Set(), openAnomalies: 0 };
      pairs.set(key, pair);
    }
    pair.records.push({ seq: Number(row.seq), requestId: row.request_id, observation: observeRecord(row), subjects: row.subjects ?? [] });
  }
  return pairs;
}

/** Each pair's stored baseline, fields answered before and open anomalies; and which agents are quarantined. */
async function loadPairs(tx: Queryable, pairs: Map<string, Pair>): Promise<Set<string>> {
  const list = [...pairs.values()];
  const { rows } = await tx.query<{ agent_id: string; purpose: string; state: Partial<BaselineState> | null; fields: string[]; open: number | string }>(
    `SELECT k.agent_id, k.purpose, b.state,
            coalesce((SELECT array_agg(f.field) FROM agent_baseline_fields f WHERE f.agent_id = k.agent_id AND f.purpose = k.purpose), '{}') AS fields,
            (SELECT count(*) FROM agent_anomalies x WHERE x.agent_id = k.agent_id AND x.purpose = k.purpose AND x.status = 'open') AS open
       FROM unnest($1::text[], $2::text[]) AS k(agent_id, purpose) LEFT JOIN agent_baselines b USING (agent_id, purpose)`,
    [list.map((p) => p.agentId), list.map((p) => p.purpose)],
  );
  for (const row of rows) {
    const pair = pairs.get(pairKey(row.agent_id, row.purpose))!;
    pair.state = restoreBaseline(row.state);
    pair.fields = new Set(row.fields);
    pair.openAnomalies = Number(row.open);
  }
  const quarantined = await tx.query<{ agent_id: string }>('SELECT agent_id FROM agent_quarantine');
  return new Set(quarantined.rows.map((row) => row.agent_id));
}

/** Adds the windows' subjects to agent_window_subjects; per pair and window start, how many were not there yet. */
async function countNewSubjects(tx: Queryable, pairs: readonly Pair[]): Promise<Map<string, Map<number, number>>> {
  const agents: string[] = [];
  const purposes: string[] = [];
  const starts: string[] = [];
  const subjects: string[] = [];
  for (const pair of pairs) {
    for (const [start, seen] of pair.observed!.subjects) {
      for (const subject of seen) {
        agents.push(pair.agentId);
        purposes.push(pair.purpose);
        starts.push(new Date(start).toISOString());
        subjects.push(subject);
      }
    }
  }
  const counts = new Map<string, Map<number, number>>();
  if (subjects.length === 0) return counts;
  const { rows } = await tx.query<{ agent_id: string; purpose: string; window_start: Date; n: number | string }>(
    `WITH added AS (
       INSERT INTO agent_window_subjects (agent_id, purpose, window_start, subject)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) ON CONFLICT DO NOTHING
       RETURNING agent_id, purpose, window_start
     )
     SELECT agent_id, purpose, window_start, count(*) AS n FROM added GROUP BY agent_id, purpose, window_start`,
    [agents, purposes, starts, subjects],
  );
  for (const row of rows) {
    const key = pairKey(row.agent_id, row.purpose);
    const byWindow = counts.get(key) ?? new Map<number, number>();
    byWindow.set(new Date(row.window_start).getTime(), Number(row.n));
    counts.set(key, byWindow);
  }
  return counts;
}

/** Stores the pairs' baselines and new fields under `version`, and forgets the subjects of windows that have ended. */
async function savePairs(tx: Queryable, pairs: readonly Pair[], version: number): Promise<void> {
  await tx.query(
    `INSERT INTO agent_baselines (agent_id, purpose, state, version)
     SELECT a, p, s::jsonb, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(a, p, s)
     ON CONFLICT (agent_id, purpose) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now()`,
    [pairs.map((p) => p.agentId), pairs.map((p) => p.purpose), pairs.map((p) => JSON.stringify(p.state)), version],
  );
  const fields = pairs.flatMap((pair) => pair.observed!.newFields.map((f) => ({ ...f, pair })));
  if (fields.length > 0) {
    await tx.query(
      `INSERT INTO agent_baseline_fields (agent_id, purpose, field, first_seen_at, first_seq, version)
       SELECT a, p, f, t, s, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[]) AS u(a, p, f, t, s)
       ON CONFLICT DO NOTHING`,
      [
        fields.map((f) => f.pair.agentId),
        fields.map((f) => f.pair.purpose),
        fields.map((f) => f.field),
        fields.map((f) => f.at.toISOString()),
        fields.map((f) => f.seq),
        version,
      ],
    );
  }
  await tx.query(
    `DELETE FROM agent_window_subjects w USING unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(agent_id, purpose, current_start)
      WHERE w.agent_id = k.agent_id AND w.purpose = k.purpose AND w.window_start < k.current_start`,
    [pairs.map((p) => p.agentId), pairs.map((p) => p.purpose), pairs.map((p) => new Date(p.state.current!.start).toISOString())],
  );
}

function raised(pair: Pair, finding: LocatedFinding, windowMs: number): RaisedFinding {
  const { seq, windowStart, ...rest } = finding;
  return {
    ...rest,
    agentId: pair.agentId,
    purpose: pair.purpose,
    windowStart: windowStart === null ? null : new Date(windowStart),
    windowEnd: windowStart === null ? null : new Date(windowStart + windowMs),
    auditSeq: seq,
    quarantines: pair.policy.quarantine,
  };
}

/**
 * Reads the audit records after the shared cursor, updates the baselines of the agents they are about, raises what
 * is far outside them, and moves the cursor, all in one transaction: a crash evaluates the same records again, never
 * half of them. Only one broker evaluates at a time (the cursor row, FOR UPDATE SKIP LOCKED); the others find it
 * taken and return null. The chain's lock is taken last, and only when an anomaly is raised.
 */
export async function evaluateNewRecords(db: Db, options: EvaluatorOptions): Promise<Evaluation | null> {
  return db.transaction(async (tx) => {
    const cursorRow = await tx.query<{ seq: number | string }>('SELECT seq FROM agent_baseline_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED');
    if (cursorRow.rows.length === 0) return null;
    const from = Number(cursorRow.rows[0]!.seq);
    const rows = await readRecords(tx, from, options.batchSize);
    if (rows.length === 0) return { records: 0, cursor: from, anomalies: [] };
    const cursor = Number(rows.at(-1)!.seq);
    const pairs = pairsOf(rows, options.policies);
    const findings: RaisedFinding[] = [];
    if (pairs.size > 0) {
      const quarantined = await loadPairs(tx, pairs);
      const list = [...pairs.values()];
      for (const pair of list) {
        const context = { policy: pair.policy, quarantined: quarantined.has(pair.agentId) };
        pair.observed = observePair(pair.state, pair.records, {
          ...context,
          windowMs: options.windowMs,
          fields: pair.fields,
          openAnomalies: pair.openAnomalies,
        });
        findings.push(...pair.observed.findings.map((f) => raised(pair, f, options.windowMs)));
      }
      const newSubjects = await countNewSubjects(tx, list);
      for (const pair of list) {
        const context = { policy: pair.policy, quarantined: quarantined.has(pair.agentId) };
        const found = finishPair(pair.state, pair.observed!, newSubjects.get(pairKey(pair.agentId, pair.purpose)) ?? new Map(), context);
        findings.push(...found.map((f) => raised(pair, f, options.windowMs)));
      }
      await savePairs(tx, list, cursor);
    }
    await tx.query('UPDATE agent_baseline_cursor SET seq = $1, updated_at = now() WHERE id = 1', [cursor]);
    const anomalies = await raiseAnomalies(tx, options.auditKey, findings);
    return { records: rows.length, cursor, anomalies };
  });
}
