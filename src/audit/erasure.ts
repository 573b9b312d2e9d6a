import type { Db } from '../sql/index.ts';
import { type ActorKind, stateChangeDraft, subjectPseudonym } from './record.ts';
import { currentSubjectKeys, recordedPseudonym } from './subject-keys.ts';
import { appendAuditRecord } from './writer.ts';

export interface ErasureRequest {
  /** The subject's kind in the catalog (e.g. customer) and its id. */
  kind: string;
  id: string;
  actor: { kind: ActorKind; id: string | null };
  /** The erasure request's own reference (a ticket number), recorded so the officer can show it was honoured. */
  reference?: string | null;
}

export interface ErasureResult {
  /** False when the subject had no key: never in the log, or already erased. */
  keyDestroyed: boolean;
  /** Records that named the subject and can no longer be linked to them. */
  recordsUnlinked: number;
  /** The audit record of the erasure itself. */
  auditSeq: number;
}

/**
 * Honours an erasure request in the audit log by destroying the subject's key (crypto-shredding): the
 * records and their digests stay as the chain hashed them, so the chain still verifies and logs kept for a
 * legal minimum stay whole, but none of them can be tied to the subject again. The erasure is itself audited,
 * naming neither the id nor the reference of the subject.
 */
export async function eraseSubject(db: Db, keys: { auditKey: Uint8Array; subjectKey: Uint8Array }, request: ErasureRequest): Promise<ErasureResult> {
  const ref = subjectPseudonym(keys.subjectKey, request.kind, request.id);
  return db.transaction(async (tx) => {
    // Appenders make and read keys under this lock: none is between reading this key and writing its record.
    await tx.query('SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE');
    const key = (await currentSubjectKeys(tx, [ref])).get(ref) ?? null;
    let recordsUnlinked = 0;
    if (key) {
      const linked = await tx.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_subject_lists WHERE subjects @> ARRAY[$1::text]', [
        recordedPseudonym(key, ref),
      ]);
      recordsUnlinked = Number(linked.rows[0]?.n ?? 0);
      await tx.query('UPDATE subject_keys SET key = NULL, erased_at = now() WHERE subject_ref = $1', [ref]);
      // Brokers that keep pseudonyms in memory (KnownPseudonyms) drop them at their next batch.
      await tx.query('UPDATE audit_head SET key_epoch = key_epoch + 1 WHERE id = 1');
    }
    const record = await appendAuditRecord(
      tx,
      keys.auditKey,
      stateChangeDraft({
        actor: request.actor,
        operationKind: 'subject_erasure',
        tables: ['subject_keys'],
        details: { subjectKind: request.kind, keyDestroyed: key !== null, recordsUnlinked, reference: request.reference ?? null },
      }),
    );
    return { keyDestroyed: key !== null, recordsUnlinked, auditSeq: record.seq };
  });
}
