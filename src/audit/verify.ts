import type { Queryable } from '../sql/index.ts';
import { GENESIS, invalidCheckpoint, readCheckpoints } from './checkpoint.ts';
import { type AuditRecord, auditRecordHash, subjectsDigest } from './record.ts';

export type ChainProblem = 'changed' | 'removed' | 'inserted_or_reordered' | 'subjects_changed' | 'head_mismatch' | 'checkpoint_invalid';

export interface ChainVerification {
  ok: boolean;
  checked: number;
  headSeq: number;
  /** Records 1..prunedThrough were pruned under a valid checkpoint; the walk started after them. */
  prunedThrough?: number;
  /** The first record that does not verify, and why. */
  firstBad?: { seq: number; problem: ChainProblem; detail: string };
}

const PAGE = 2_000;

interface AuditRow {
  seq: number;
  recorded_at: Date;
  request_id: string;
  actor_kind: AuditRecord['actorKind'];
  actor_id: string | null;
  purpose: string | null;
  actor_location: string | null;
  operation_kind: string;
  operation_name: string | null;
  operation_hash: string | null;
  decision: AuditRecord['decision'];
  code: string | null;
  reason: string | null;
  tables: string[];
  fields: AuditRecord['fields'];
  row_count: number;
  subject_count: number;
  subjects_digest: string;
  jurisdictions: string[];
  privacy_cost: AuditRecord['privacyCost'];
  findings: AuditRecord['findings'];
  details: AuditRecord['details'];
  prev_hash: string;
  hash: string;
}

export function recordFromRow(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    recordedAt: new Date(row.recorded_at),
    requestId: row.request_id,
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    purpose: row.purpose,
    actorLocation: row.actor_location,
    operationKind: row.operation_kind,
    operationName: row.operation_name,
    operationHash: row.operation_hash,
    decision: row.decision,
    code: row.code,
    reason: row.reason,
    tables: row.tables,
    fields: row.fields,
    rowCount: row.row_count,
    subjectCount: row.subject_count,
    subjectsDigest: row.subjects_digest,
    jurisdictions: row.jurisdictions,
    privacyCost: row.privacy_cost,
    findings: row.findings,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Walks the whole chain in order and names the first record that is changed, missing, inserted or out of
 * order, then checks the head so a removed tail is found too. Reads in pages: the log can be large.
 * A pruned log is walked from its latest checkpoint, after every checkpoint's signature is checked.
 */
export async function verifyAuditChain(
  db: Queryable,
  key: Uint8Array,
  onProgress?: (checked: number, total: number) => void,
): Promise<ChainVerification> {
  const head = (await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1')).rows[0];
  const headSeq = Number(head?.seq ?? 0);
  const checkpoints = await readCheckpoints(db);
  const start = checkpoints.at(-1) ?? GENESIS;
  const total = Number((await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log WHERE seq > $1', [start.seq])).rows[0]?.n ?? 0);
  let hashAtHead = headSeq === start.seq ? start.hash : null;
  let expectedSeq = start.seq + 1;
  let previousHash: string = start.hash;
  let checked = 0;
  const bad = (seq: number, problem: ChainProblem, detail: string): ChainVerification => ({
    ok: false,
    checked,
    headSeq,
    firstBad: { seq, problem, detail },
  });
  const invalid = invalidCheckpoint(key, checkpoints);
  if (invalid) return bad(invalid.seq, 'checkpoint_invalid', invalid.detail);

  for (let after = start.seq; ; ) {
    const page = await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE]);
    if (page.rows.length === 0) break;
    const seqs = page.rows.map((row) => Number(row.seq));
    const subjectRows = await db.query<{ audit_seq: number; subject: string; jurisdiction: string | null }>(
      'SELECT audit_seq, subject, jurisdiction FROM audit_subjects WHERE audit_seq = ANY($1::int8[])',
      [seqs],
    );
    const subjectsBySeq = new Map<number, Array<[string, string | null]>>();
    for (const row of subjectRows.rows) {
      const list = subjectsBySeq.get(Number(row.audit_seq)) ?? [];
      list.push([row.subject, row.jurisdiction]);
      subjectsBySeq.set(Number(row.audit_seq), list);
    }
    for (const row of page.rows) {
      const record = recordFromRow(row);
      if (record.seq !== expectedSeq) {
        return bad(expectedSeq, 'removed', `record ${expectedSeq} is missing (next present is ${record.seq})`);
      }
      if (record.prevHash !== previousHash) {
        return bad(record.seq, 'inserted_or_reordered', `record ${record.seq} does not follow record ${record.seq - 1}`);
      }
      const { hash, ...unhashed } = record;
      if (auditRecordHash(key, unhashed) !== hash) {
        return bad(record.seq, 'changed', `record ${record.seq} was modified after it was written`);
      }
      const subjects = subjectsBySeq.get(record.seq) ?? [];
      if (subjects.length !== record.subjectCount || subjectsDigest(subjects) !== record.subjectsDigest) {
        return bad(record.seq, 'subjects_changed', `the data subjects recorded for ${record.seq} were modified`);
      }
      previousHash = hash;
      if (record.seq === headSeq) hashAtHead = hash;
      expectedSeq += 1;
      checked += 1;
    }
    after = seqs[seqs.length - 1]!;
    onProgress?.(checked, total);
  }
  // Records appended while we read (other brokers keep writing) may lie past the head read first; they were
  // verified above. The head itself must sit on the chain, or records were removed from its end.
  const lastSeq = start.seq + checked;
  if (lastSeq < headSeq || hashAtHead !== (head?.hash ?? 'genesis')) {
    return bad(lastSeq + 1, 'head_mismatch', `the chain ends at ${lastSeq} but its head says ${headSeq}: records were removed from the end`);
  }
  return { ok: true, checked, headSeq, prunedThrough: start.seq };
}
