import type { Queryable } from '../sql/index.ts';
import { type AuditDraft, type AuditRecord, auditRecordHash, subjectsDigest } from './record.ts';
import { type AuditRow, recordFieldsFromRow, storableText, storedRow } from './row.ts';
import { recordedPseudonymsFor } from './subject-keys.ts';

/**
 * Appends records, in order, to the chain inside the caller's transaction, in a fixed number of statements
 * whatever their count (group commit writes many at once). Locking the head row serialises appenders across
 * broker processes; the records are durable exactly when the caller's transaction commits, so a response
 * that waits for that commit never leaves before its record. Drafts name subjects by reference; records keep
 * them under their own keys (subject-keys.ts), made under the same lock.
 */
export async function appendAuditRecords(tx: Queryable, key: Uint8Array, drafts: readonly AuditDraft[]): Promise<AuditRecord[]> {
  const head = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  const previous = head.rows[0];
  if (!previous) throw new Error('audit_head is missing: run the migrations');
  const pseudonyms = await recordedPseudonymsFor(tx, [...new Set(drafts.flatMap((draft) => [...draft.subjects.keys()]))]);
  let seq = Number(previous.seq);
  let prevHash = previous.hash;
  const records: AuditRecord[] = [];
  const rows: AuditRow[] = [];
  const subjectRows: { seq: number[]; subject: string[]; jurisdiction: Array<string | null> } = { seq: [], subject: [], jurisdiction: [] };
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
    for (const [subject, jurisdiction] of subjects) {
      subjectRows.seq.push(seq);
      subjectRows.subject.push(subject);
      subjectRows.jurisdiction.push(jurisdiction);
    }
  }
  // One statement for the records, their subjects and the new head: a round trip per batch instead of three.
  // Every data-modifying part of a WITH runs to completion, and the subjects' foreign keys are checked at its end.
  await tx.query(
    `WITH records AS (INSERT INTO audit_log SELECT * FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)),
          subjects AS (INSERT INTO audit_subjects (audit_seq, subject, jurisdiction) SELECT * FROM unnest($2::int8[], $3::text[], $4::text[]))
     UPDATE audit_head SET seq = $5, hash = $6 WHERE id = 1`,
    [JSON.stringify(rows), subjectRows.seq, subjectRows.subject, subjectRows.jurisdiction, seq, prevHash],
  );
  return records;
}

export async function appendAuditRecord(tx: Queryable, key: Uint8Array, draft: AuditDraft): Promise<AuditRecord> {
  return (await appendAuditRecords(tx, key, [draft]))[0]!;
}
