import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../sql/index.ts';
import type { EpochMemoryScope as PseudonymScope } from './epoch-memory.ts';

/**
 * Crypto-shredding of data subjects in the audit log. A subject is known to the broker by its reference,
 * `subjectPseudonym(subjectKey, kind, id)` (one broker-wide key); audit_subjects records it as
 * HMAC(its own random key, reference). Erasure destroys that key: the records stay exactly as hashed into the
 * chain, but nobody — the broker's key holders included — can tell any more which of them were about whom,
 * once the key's old row version is gone from the database files and backups (VACUUM, backup rotation).
 * What remains is a tombstone (reference, erased_at): proof of the erasure, not of any access.
 */

const KEY_BYTES = 32;
const SHA256_BLOCK = 64;

export class SubjectKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectKeyError';
  }
}

/**
 * HMAC-SHA-256 (RFC 2104) from two hashes. A response names up to hundreds of subjects, each with its own
 * key: node's createHmac spends ~12 µs importing every new key, this takes ~3 µs for the same bytes.
 */
export function hmacSha256(key: Uint8Array, message: string): Buffer {
  if (key.length > SHA256_BLOCK) throw new SubjectKeyError(`a subject key is at most ${SHA256_BLOCK} bytes`);
  const inner = Buffer.alloc(SHA256_BLOCK, 0x36);
  const outer = Buffer.alloc(SHA256_BLOCK, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  const innerHash = createHash('sha256').update(inner).update(message).digest();
  return createHash('sha256').update(outer).update(innerHash).digest();
}

/** The pseudonym audit_subjects holds for the subject with this reference, under the subject's own key. */
export function recordedPseudonym(subjectKey: Uint8Array, ref: string): string {
  const colon = ref.indexOf(':');
  const kind = colon > 0 ? ref.slice(0, colon) : 'subject';
  return `${kind}:${hmacSha256(subjectKey, ref).toString('base64url').slice(0, 22)}`;
}

/**
 * Every subject's key, made on first sight. Callers hold the audit head lock (appendAuditRecord, eraseSubject),
 * so no other writer makes or erases a key meanwhile. One statement reads the keys of all the record's
 * subjects; a second, only when some are new (or were erased and are seen again), makes theirs. Existing
 * keys are never locked or rewritten on the hot path.
 */
async function subjectKeys(tx: Queryable, refs: readonly string[]): Promise<Map<string, Uint8Array>> {
  const keys = await currentSubjectKeys(tx, refs);
  const keyless = refs.filter((ref) => !keys.has(ref));
  if (keyless.length === 0) return keys;
  const fresh = keyless.map(() => randomBytes(KEY_BYTES).toString('hex'));
  // A subject seen again after an erasure (the source still holds their rows) gets a new key, unrelated to the
  // destroyed one: new records link to each other, never to those from before the erasure.
  const made = await tx.query<{ subject_ref: string; key: Uint8Array }>(
    `INSERT INTO subject_keys AS k (subject_ref, key)
     SELECT ref, decode(key, 'hex') FROM unnest($1::text[], $2::text[]) AS w(ref, key) ORDER BY ref
     ON CONFLICT (subject_ref) DO UPDATE SET key = EXCLUDED.key, created_at = now() WHERE k.key IS NULL
     RETURNING k.subject_ref, k.key`,
    [keyless, fresh],
  );
  for (const row of made.rows) keys.set(row.subject_ref, row.key);
  return keys;
}

/**
 * Each subject reference's recorded pseudonym, making keys for subjects seen for the first time. With `known`,
 * pseudonyms this broker has already written under the same key epoch are taken from memory, so a batch about
 * people seen before reads no key and computes no HMAC.
 */
export async function recordedPseudonymsFor(
  tx: Queryable,
  refs: readonly string[],
  known?: { scope: PseudonymScope; epoch: string },
): Promise<Map<string, string>> {
  if (refs.length === 0) return new Map();
  const remembered = known?.scope.under(known.epoch) ?? new Map<string, string>();
  const unknown = refs.filter((ref) => !remembered.has(ref));
  const keys = unknown.length > 0 ? await subjectKeys(tx, unknown) : new Map<string, Uint8Array>();
  return new Map(
    refs.map((ref) => {
      const cached = remembered.get(ref);
      if (cached !== undefined) return [ref, cached];
      const key = keys.get(ref);
      if (!key) throw new SubjectKeyError(`no key could be made for data subject ${ref}`);
      const pseudonym = recordedPseudonym(key, ref);
      known?.scope.learn(ref, pseudonym);
      return [ref, pseudonym];
    }),
  );
}

/** Recorded pseudonyms one broker has written (the subject reference → pseudonym), per key epoch. */
export { EpochMemory as KnownPseudonyms, type EpochMemoryScope as PseudonymScope } from './epoch-memory.ts';

/** The current keys of these subjects; a subject without one (never seen, or erased) is absent. Read only. */
export async function currentSubjectKeys(db: Queryable, refs: readonly string[]): Promise<Map<string, Uint8Array>> {
  const { rows } = await db.query<{ subject_ref: string; key: Uint8Array | null }>(
    'SELECT subject_ref, key FROM subject_keys WHERE subject_ref = ANY($1::text[]) AND key IS NOT NULL',
    [refs],
  );
  return new Map(rows.map((row) => [row.subject_ref, row.key!]));
}

/**
 * The pseudonyms under which audit_subjects knows these subjects now, without making keys: a subject absent
 * from the answer is in no record that can still be linked to them (e.g. for counting distinct subjects
 * across past records and a request not yet recorded).
 */
export async function currentRecordedPseudonyms(db: Queryable, refs: readonly string[]): Promise<Map<string, string>> {
  const keys = await currentSubjectKeys(db, refs);
  return new Map([...keys].map(([ref, key]) => [ref, recordedPseudonym(key, ref)]));
}

/** The pseudonym under which audit_subjects knows this subject now, or null when no record can be linked to it. */
export async function currentRecordedPseudonym(db: Queryable, ref: string): Promise<string | null> {
  return (await currentRecordedPseudonyms(db, [ref])).get(ref) ?? null;
}
