import { createHmac, randomBytes } from 'node:crypto';
import type { Queryable } from '../sql/index.ts';

/**
 * Crypto-shredding of data subjects in the audit log. A subject is known to the broker by its reference,
 * `subjectPseudonym(subjectKey, kind, id)` (one broker-wide key); audit_subjects records it as
 * HMAC(its own random key, reference). Erasure destroys that key: the records stay exactly as hashed into the
 * chain, but nobody — the broker's key holders included — can tell any more which of them were about whom.
 */

const KEY_BYTES = 32;

export class SubjectKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectKeyError';
  }
}

/** The pseudonym audit_subjects holds for the subject with this reference, under the subject's own key. */
export function recordedPseudonym(subjectKey: Uint8Array, ref: string): string {
  const colon = ref.indexOf(':');
  const kind = colon > 0 ? ref.slice(0, colon) : 'subject';
  return `${kind}:${createHmac('sha256', subjectKey).update(ref).digest('base64url').slice(0, 22)}`;
}

/**
 * Every subject's key, made on first sight, in one statement for all subjects of a record. Callers hold the
 * audit head lock (appendAuditRecord, eraseSubject), so no other writer inserts or erases a key meanwhile and
 * the statement's snapshot shows every key committed before. Existing keys are only read: no row is locked
 * or rewritten on the hot path.
 */
async function subjectKeys(tx: Queryable, refs: readonly string[]): Promise<Map<string, Uint8Array>> {
  const fresh = () => refs.map(() => randomBytes(KEY_BYTES).toString('hex'));
  const { rows } = await tx.query<{ subject_ref: string; key: Uint8Array | null }>(
    `WITH wanted AS (SELECT ref, decode(key, 'hex') AS key FROM unnest($1::text[], $2::text[]) AS w(ref, key)),
     created AS (
       INSERT INTO subject_keys (subject_ref, key) SELECT ref, key FROM wanted ORDER BY ref
       ON CONFLICT (subject_ref) DO NOTHING
       RETURNING subject_ref, key)
     SELECT subject_ref, key FROM created
     UNION ALL
     SELECT k.subject_ref, k.key FROM subject_keys k JOIN wanted w ON w.ref = k.subject_ref`,
    [refs, fresh()],
  );
  const keys = new Map<string, Uint8Array>();
  const erased: string[] = [];
  for (const row of rows) {
    if (row.key) keys.set(row.subject_ref, row.key);
    else erased.push(row.subject_ref);
  }
  if (erased.length > 0) {
    // Seen again after an erasure (the source still holds their rows): a new key, unrelated to the destroyed
    // one, so new records link to each other but never to those from before the erasure.
    const rekeyed = await tx.query<{ subject_ref: string; key: Uint8Array }>(
      `UPDATE subject_keys k SET key = decode(w.key, 'hex'), created_at = now()
         FROM unnest($1::text[], $2::text[]) AS w(ref, key)
        WHERE k.subject_ref = w.ref AND k.key IS NULL
       RETURNING k.subject_ref, k.key`,
      [erased, erased.map(() => randomBytes(KEY_BYTES).toString('hex'))],
    );
    for (const row of rekeyed.rows) keys.set(row.subject_ref, row.key);
  }
  return keys;
}

/** A record's subjects (reference → jurisdiction) as audit_subjects keeps them (recorded pseudonym → jurisdiction). */
export async function recordedSubjects(tx: Queryable, subjects: ReadonlyMap<string, string | null>): Promise<Map<string, string | null>> {
  if (subjects.size === 0) return new Map();
  const keys = await subjectKeys(tx, [...subjects.keys()]);
  return new Map(
    [...subjects].map(([ref, jurisdiction]) => {
      const key = keys.get(ref);
      if (!key) throw new SubjectKeyError(`no key could be made for data subject ${ref}`);
      return [recordedPseudonym(key, ref), jurisdiction];
    }),
  );
}

/** The subject's current key, or null when it has none: never seen, or erased. */
export async function currentSubjectKey(db: Queryable, ref: string): Promise<Uint8Array | null> {
  const { rows } = await db.query<{ key: Uint8Array | null }>('SELECT key FROM subject_keys WHERE subject_ref = $1', [ref]);
  return rows[0]?.key ?? null;
}

/** The pseudonym under which audit_subjects knows this subject now, or null when no record can be linked to it. */
export async function currentRecordedPseudonym(db: Queryable, ref: string): Promise<string | null> {
  const key = await currentSubjectKey(db, ref);
  return key ? recordedPseudonym(key, ref) : null;
}
