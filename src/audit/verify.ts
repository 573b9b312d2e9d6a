import type { Queryable } from '../sql/index.ts';
import { GENESIS, invalidCheckpoints, readCheckpoints } from './checkpoint.ts';
import { type AuditRecord, auditRecordHash, subjectsDigest } from './record.ts';
import { type AuditRow, recordFieldsFromRow } from './row.ts';

export type ChainProblem = 'changed' | 'removed' | 'inserted_or_reordered' | 'subjects_changed' | 'head_mismatch' | 'checkpoint_invalid';

export interface ChainFault {
  seq: number;
  problem: ChainProblem;
  detail: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Records read and checked (bad ones included). */
  checked: number;
  headSeq: number;
  /** Records 1..prunedThrough were pruned under the latest checkpoint; the walk started after them. */
  prunedThrough: number;
  /** The first fault, as `bad[0]`. */
  firstBad?: ChainFault;
  /** Every fault, in order: checkpoints, then records by seq (a run of removed records is one), then the head. */
  bad: ChainFault[];
}

const PAGE = 2_000;

/**
 * What is wrong with one record, given the hash of the record before it (null when that one is missing, so
 * there is no link to check). At most one fault per record, the link first: a record out of place also
 * fails its own hash, which says nothing more.
 */
function recordFault(
  key: Uint8Array,
  record: Omit<AuditRecord, 'hash'>,
  hash: string,
  previousHash: string | null,
  subjects: Array<[string, string | null]>,
): ChainFault | null {
  if (previousHash !== null && record.prevHash !== previousHash) {
    return { seq: record.seq, problem: 'inserted_or_reordered', detail: `record ${record.seq} does not follow record ${record.seq - 1}` };
  }
  if (auditRecordHash(key, record) !== hash) {
    return { seq: record.seq, problem: 'changed', detail: `record ${record.seq} was modified after it was written` };
  }
  if (subjects.length !== record.subjectCount || subjectsDigest(subjects) !== record.subjectsDigest) {
    return { seq: record.seq, problem: 'subjects_changed', detail: `the data subjects recorded for ${record.seq} were modified` };
  }
  return null;
}

function missing(from: number, next: number): ChainFault {
  const which = next - from === 1 ? `record ${from} is missing` : `records ${from}-${next - 1} are missing`;
  return { seq: from, problem: 'removed', detail: `${which} (next present is ${next})` };
}

/** An audit_log row with its subjects and their jurisdictions (null when it names none). */
type PageRow = AuditRow & { subject_list: string[] | null; subject_jurisdictions: Array<string | null> | null };

/**
 * A page of records after `$1` with their subjects, in one statement. The subjects come as JSON: the driver
 * parses a text array character by character, at several times the cost of JSON.parse.
 */
const PAGE_QUERY = `SELECT a.*, to_json(s.subjects) AS subject_list, to_json(s.jurisdictions) AS subject_jurisdictions
  FROM (SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2) a LEFT JOIN audit_subject_lists s ON s.audit_seq = a.seq ORDER BY a.seq`;

/**
 * Walks the whole chain in order and reports every record that is changed, missing, inserted or out of
 * order, then checks the head so a removed tail is found too. It goes on past a bad record, so one fault
 * cannot hide another: after a changed record the next links to its stored hash; after missing records the
 * next is checked on its own. Reads in pages: the log can be large. A pruned log is walked from its latest
 * checkpoint, and every checkpoint's signature is checked.
 */
export async function verifyAuditChain(db: Queryable, key: Uint8Array, onProgress?: (checked: number, total: number) => void): Promise<ChainVerification> {
  return (await walkAuditChain(db, key, null, onProgress)).verification;
}

/** A point of the chain taken as verified: the walk checks only the records after it. */
export interface ChainPoint {
  seq: number;
  hash: string;
}

/**
 * verifyAuditChain from `resumeFrom` when it lies at or after the latest checkpoint (else from the checkpoint),
 * with the last record walked: the point a later walk may resume from when this one found nothing wrong.
 */
export async function walkAuditChain(
  db: Queryable,
  key: Uint8Array,
  resumeFrom: ChainPoint | null,
  onProgress?: (checked: number, total: number) => void,
): Promise<{ verification: ChainVerification; start: ChainPoint; end: ChainPoint }> {
  const head = (await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1')).rows[0];
  const headSeq = Number(head?.seq ?? 0);
  const checkpoints = await readCheckpoints(db);
  const checkpoint = checkpoints.at(-1) ?? GENESIS;
  const start = resumeFrom && resumeFrom.seq >= checkpoint.seq ? resumeFrom : checkpoint;
  const total = Number((await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log WHERE seq > $1', [start.seq])).rows[0]?.n ?? 0);
  const bad: ChainFault[] = invalidCheckpoints(key, checkpoints).map((c) => ({ seq: c.seq, problem: 'checkpoint_invalid', detail: c.detail }));
  let hashAtHead = headSeq === start.seq ? start.hash : null;
  let lastSeq = start.seq;
  let previousHash: string | null = start.hash;
  let checked = 0;

  // The next page is read while this one is checked: the database and the hashing overlap.
  const readPage = async (after: number) => (await db.query<PageRow>(PAGE_QUERY, [after, PAGE])).rows;
  let next = readPage(lastSeq);
  for (;;) {
    const page = await next;
    if (page.length === 0) break;
    next = readPage(Number(page.at(-1)!.seq));
    // Checked below before it is awaited; a failure meanwhile must not surface as an unhandled rejection.
    next.catch(() => undefined);
    for (const row of page) {
      const record = recordFieldsFromRow(row);
      if (record.seq !== lastSeq + 1) {
        bad.push(missing(lastSeq + 1, record.seq));
        previousHash = null;
      }
      const subjects = (row.subject_list ?? []).map((subject, i): [string, string | null] => [subject, row.subject_jurisdictions?.[i] ?? null]);
      const fault = recordFault(key, record, row.hash, previousHash, subjects);
      if (fault) bad.push(fault);
      previousHash = row.hash;
      if (record.seq === headSeq) hashAtHead = row.hash;
      lastSeq = record.seq;
      checked += 1;
    }
    onProgress?.(checked, total);
  }
  // Records appended while we read (other brokers keep writing) may lie past the head read first; they were
  // verified above. The head itself must sit on the chain, or records were removed from its end.
  if (!head) {
    // The writer refuses to append without it, so only a hand on the table removes it, and with it the tail check.
    bad.push({ seq: lastSeq + 1, problem: 'head_mismatch', detail: 'the chain has no head (audit_head is empty): its end cannot be checked' });
  } else if (lastSeq < headSeq || hashAtHead !== head.hash) {
    bad.push({
      seq: lastSeq + 1,
      problem: 'head_mismatch',
      detail: `the chain ends at ${lastSeq} but its head says ${headSeq}: records were removed from the end`,
    });
  }
  const ok = bad.length === 0;
  return {
    verification: { ok, checked, headSeq, prunedThrough: checkpoint.seq, ...(ok ? {} : { firstBad: bad[0] }), bad },
    start,
    end: { seq: lastSeq, hash: previousHash ?? start.hash },
  };
}
