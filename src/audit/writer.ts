import type { Queryable } from '../sql/index.ts';
import { type AuditDraft, type AuditRecord, auditRecordHash, subjectsDigest } from './record.ts';
import { recordedSubjects } from './subject-keys.ts';

/**
 * Appends one record to the chain inside the caller's transaction. Locking the head row serialises
 * appenders across broker processes; the record is durable exactly when the caller's transaction commits,
 * so a response that waits for that commit never leaves before its record. The draft names subjects by
 * reference; the record keeps them under their own keys (subject-keys.ts), made under the same lock.
 */
export async function appendAuditRecord(tx: Queryable, key: Uint8Array, draft: AuditDraft): Promise<AuditRecord> {
  const head = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
  const previous = head.rows[0];
  if (!previous) throw new Error('audit_head is missing: run the migrations');
  const { subjects: subjectRefs, ...fields } = draft;
  const subjects = await recordedSubjects(tx, subjectRefs);
  const jurisdictions = [...new Set([...subjects.values()].filter((j): j is string => j !== null))].sort();
  const unhashed = {
    ...fields,
    recordedAt: new Date(Math.floor(draft.recordedAt.getTime())),
    seq: Number(previous.seq) + 1,
    subjectCount: subjects.size,
    subjectsDigest: subjectsDigest(subjects),
    jurisdictions,
    prevHash: previous.hash,
  };
  const record: AuditRecord = { ...unhashed, hash: auditRecordHash(key, unhashed) };
  await tx.query(
    `INSERT INTO audit_log (seq, recorded_at, request_id, actor_kind, actor_id, purpose, actor_location, operation_kind,
       operation_name, operation_hash, decision, code, reason, tables, fields, row_count, subject_count, subjects_digest,
       jurisdictions, privacy_cost, findings, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
    [
      record.seq, record.recordedAt, record.requestId, record.actorKind, record.actorId, record.purpose, record.actorLocation,
      record.operationKind, record.operationName, record.operationHash, record.decision, record.code, record.reason,
      record.tables, JSON.stringify(record.fields), record.rowCount, record.subjectCount, record.subjectsDigest,
      record.jurisdictions, record.privacyCost === null ? null : JSON.stringify(record.privacyCost),
      JSON.stringify(record.findings), JSON.stringify(record.details), record.prevHash, record.hash,
    ],
  );
  if (subjects.size > 0) {
    await tx.query(
      'INSERT INTO audit_subjects (audit_seq, subject, jurisdiction) SELECT $1, s, j FROM unnest($2::text[], $3::text[]) AS u(s, j)',
      [record.seq, [...subjects.keys()], [...subjects.values()]],
    );
  }
  await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [record.seq, record.hash]);
  return record;
}
