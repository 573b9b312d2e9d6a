import type { Queryable } from '../sql/index.ts';
import { type AuditDraft, type AuditRecord, auditRecordHash, subjectsDigest } from './record.ts';
import { type AuditRow, recordFieldsFromRow, storableText, storedRow } from './row.ts';
import type { EpochMemoryScope } from './epoch-memory.ts';
import { type ReachingRecord, reachRowsToWrite } from './known-reach.ts';
import { type PseudonymScope, recordedPseudonymsFor } from './subject-keys.ts';
import { appendLeaves, frontierToJson } from './merkle/index.ts';
import { auditLeafHash } from './provable/leaf.ts';
import { catchUpTree, frontierOf, nodesInsert, nodesJson, TREE_HEAD_COLUMNS, type TreeHeadRow } from './provable/tree-store.ts';

/**
 * Appends records, in order, to the chain inside the caller's transaction, in a fixed number of statements
 * whatever their count (group commit writes many at once). Locking the head row serialises appenders across
 * broker processes; the records are durable exactly when the caller's transaction commits, so a response
 * that waits for that commit never leaves before its record. Drafts name subjects by reference; records keep
 * them under their own keys (subject-keys.ts), made under the same lock; `known` spares reading the keys of
 * subjects this broker has recorded before (call its `commit` once the caller's transaction has committed).
 * With `reach` (a scope of knownReach, committed likewise) the writer keeps audit_subject_reach itself, writing only
 * the keys this broker has not committed yet; without it the subject lists' trigger probes the table per subject.
 */
export async function appendAuditRecords(
  tx: Queryable,
  key: Uint8Array,
  drafts: readonly AuditDraft[],
  known?: PseudonymScope,
  reach?: EpochMemoryScope,
): Promise<AuditRecord[]> {
  const head = await tx.query<TreeHeadRow & { seq: number; hash: string; key_epoch: string }>(
    `SELECT hash, key_epoch::text, ${TREE_HEAD_COLUMNS} FROM audit_head WHERE id = 1 FOR UPDATE`,
  );
  const previous = head.rows[0];
  if (!previous) throw new Error('audit_head is missing: run the migrations');
  // The tree is extended under the same lock as the chain; it trails the chain only in a log older than the tree.
  const frontier = Number(previous.tree_size) === Number(previous.seq) ? frontierOf(previous) : await catchUpTree(tx, previous);
  const refs = [...new Set(drafts.flatMap((draft) => [...draft.subjects.keys()]))];
  const pseudonyms = await recordedPseudonymsFor(tx, refs, known && { scope: known, epoch: previous.key_epoch });
  let seq = Number(previous.seq);
  let prevHash = previous.hash;
  const records: AuditRecord[] = [];
  const rows: AuditRow[] = [];
  const subjectLists: Array<{ audit_seq: number; subjects: string[]; jurisdictions: Array<string | null> }> = [];
  const reaching: ReachingRecord[] = [];
  for (const draft of drafts) {
    const { subjects: refs, ...fields } = draft;
    const subjects = new Map([...refs].map(([ref, jurisdiction]) => [pseudonyms.get(ref)!, jurisdiction == null ? null : storableText(String(jurisdiction))]));
    seq += 1;
    const row = storedRow({
      ...fields,
      recordedAt: new Date(Math.floor(draft.recordedAt.getTime())),
      seq,
      subjectCount: subjects.size,
      subjectsDigest: subjectsDigest(subjects),
      jurisdictions: [...new Set([...subjects.values()].filter((j): j is string => j !== null))].sort(),
      prevHash,
    });
    // Hashed as it will be read back, not as drafted: no value the database keeps differently can break the chain.
    const stored = recordFieldsFromRow(row);
    const hash = auditRecordHash(key, stored);
    rows.push({ ...row, hash });
    records.push({ ...stored, hash });
    prevHash = hash;
    if (subjects.size > 0) subjectLists.push({ audit_seq: seq, subjects: [...subjects.keys()], jurisdictions: [...subjects.values()] });
    reaching.push({ ...stored, subjects });
  }
  const reachRows = reach ? reachRowsToWrite(reaching, reach.under(previous.key_epoch)) : new Map();
  // The seqs whose reach this statement writes: the trigger skips their lists (it still covers any other writer's).
  const reachWritten = reach && subjectLists.length > 0 ? `[${Number(previous.seq) + 1},${seq}]` : '';
  const tree = appendLeaves(frontier, records.map(auditLeafHash));
  // One statement for the records, their subjects, the tree's completed nodes and the new head: a round trip per
  // batch instead of four. Every data-modifying part of a WITH runs to completion, and the subjects' foreign keys
  // are checked at its end.
  await tx.query(
    `WITH records AS (INSERT INTO audit_log SELECT * FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)),
          subjects AS (INSERT INTO audit_subject_lists SELECT * FROM jsonb_populate_recordset(NULL::audit_subject_lists, $2::jsonb)),
          nodes AS (${nodesInsert(5)}),
          reach AS (INSERT INTO audit_subject_reach AS r SELECT * FROM jsonb_populate_recordset(NULL::audit_subject_reach, $8::jsonb)
                    ON CONFLICT (subject, actor_kind, actor_id, actor_location, jurisdiction) DO UPDATE SET last_day = EXCLUDED.last_day
                    WHERE r.last_day < EXCLUDED.last_day)
     UPDATE audit_head SET seq = $3, hash = $4, tree_size = $6, tree_frontier = $7::jsonb
      WHERE id = 1 AND set_config('keyhole.reach_written', $9, true) IS NOT NULL`,
    [
      JSON.stringify(rows),
      JSON.stringify(subjectLists),
      seq,
      prevHash,
      nodesJson(tree.completed),
      tree.frontier.size,
      JSON.stringify(frontierToJson(tree.frontier).hashes),
      JSON.stringify([...reachRows.values()]),
      reachWritten,
    ],
  );
  for (const [reachKey, row] of reachRows) reach?.learn(reachKey, row.last_day);
  return records;
}

export async function appendAuditRecord(tx: Queryable, key: Uint8Array, draft: AuditDraft): Promise<AuditRecord> {
  return (await appendAuditRecords(tx, key, [draft]))[0]!;
}
