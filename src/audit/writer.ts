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
  await tx.query('INSERT INTO audit_log SELECT * FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)', [JSON.stringify(rows)]);
  if (subjectRows.seq.length > 0) {
    await tx.query('INSERT INTO audit_subjects (audit_seq, subject, jurisdiction) SELECT * FROM unnest($1::int8[], $2::text[], $3::text[])', [
      subjectRows.seq,
      subjectRows.subject,
      subjectRows.jurisdiction,
    ]);
  }
  await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, prevHash]);
  return records;
}

export async function appendAuditRecord(tx: Queryable, key: Uint8Array, draft: AuditDraft): Promise<AuditRecord> {
  return (await appendAuditRecords(tx, key, [draft]))[0]!;
}
