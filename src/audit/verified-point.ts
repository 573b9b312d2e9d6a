import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../sql/index.ts';
import { canonicalJson } from './record.ts';
import { type ChainFault, type ChainPoint, type ChainVerification, walkAuditChain } from './verify.ts';

/**
 * Incremental chain verification for the officer's panel: a walk that finds nothing wrong leaves its last
 * record as the verified point (audit_verified_point, signed with the audit key so nobody without it can move
 * the point forward past a change), and the next walk starts there. A change at or before the point is found
 * only by a full walk (`keyhole audit verify`, or the panel asked for a full check), which records when it passed.
 */

export interface VerifiedPoint extends ChainPoint {
  verifiedAt: Date;
  /** When a full walk last found the chain intact; null when none has since the point was first kept. */
  fullVerifiedAt: Date | null;
}

export interface IncrementalChainVerification extends ChainVerification {
  /** Records 1..verifiedFrom were verified by earlier checks; this one walked the records after them. */
  verifiedFrom: number;
  /** The last record this check reached. */
  verifiedThrough: number;
  fullVerifiedAt: Date | null;
  /** What this check covers, in words an officer reads. */
  coverage: string;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function pointSignature(key: Uint8Array, point: VerifiedPoint): string {
  const body = canonicalJson({ seq: point.seq, hash: point.hash, verifiedAt: iso(point.verifiedAt), fullVerifiedAt: iso(point.fullVerifiedAt) });
  return createHmac('sha256', key).update('audit-verified-point\n').update(body).digest('hex');
}

const sameSignature = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The stored point, or `forged` when its signature does not match (changed by a hand without the audit key). */
export async function readVerifiedPoint(db: Queryable, key: Uint8Array): Promise<VerifiedPoint | 'forged' | null> {
  const { rows } = await db.query<{ seq: number; hash: string; verified_at: Date; full_verified_at: Date | null; signature: string }>(
    'SELECT seq, hash, verified_at, full_verified_at, signature FROM audit_verified_point WHERE id = 1',
  );
  const row = rows[0];
  if (!row) return null;
  const point = {
    seq: Number(row.seq),
    hash: row.hash,
    verifiedAt: new Date(row.verified_at),
    fullVerifiedAt: row.full_verified_at ? new Date(row.full_verified_at) : null,
  };
  return sameSignature(pointSignature(key, point), row.signature) ? point : 'forged';
}

export async function writeVerifiedPoint(db: Queryable, key: Uint8Array, point: VerifiedPoint): Promise<void> {
  await db.query(
    `INSERT INTO audit_verified_point (id, seq, hash, verified_at, full_verified_at, signature) VALUES (1, $1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, verified_at = EXCLUDED.verified_at,
       full_verified_at = EXCLUDED.full_verified_at, signature = EXCLUDED.signature`,
    [point.seq, point.hash, point.verifiedAt, point.fullVerifiedAt, pointSignature(key, point)],
  );
}

/**
 * The whole chain, as `keyhole audit verify` checks it: a walk that finds nothing wrong becomes the verified point,
 * stamped as a full verification, so the officer's panel resumes from it and says when the chain was last wholly checked.
 */
export async function verifyWholeAuditChain(
  db: Queryable,
  key: Uint8Array,
  onProgress?: (checked: number, total: number) => void,
  now = new Date(),
): Promise<ChainVerification> {
  const { verification, end } = await walkAuditChain(db, key, null, onProgress);
  if (verification.ok) await writeVerifiedPoint(db, key, { ...end, verifiedAt: now, fullVerifiedAt: now });
  return verification;
}

const FORGED: ChainFault = { seq: 0, problem: 'checkpoint_invalid', detail: 'the verified point of the chain is forged or was modified' };

/**
 * Verifies the chain after the verified point (the whole chain when `full`, when there is no point yet, or when
 * the point is forged), and moves the point to the last record reached when nothing was wrong.
 */
export async function verifyAuditChainFromPoint(
  db: Queryable,
  key: Uint8Array,
  options: { full?: boolean; now?: Date; onProgress?: (checked: number, total: number) => void } = {},
): Promise<IncrementalChainVerification> {
  const stored = await readVerifiedPoint(db, key);
  const point = stored === 'forged' ? null : stored;
  const { verification, start, end } = await walkAuditChain(db, key, options.full ? null : point, options.onProgress);
  const bad = stored === 'forged' ? [FORGED, ...verification.bad] : verification.bad;
  const ok = bad.length === 0;
  const full = start.seq === verification.prunedThrough;
  const now = options.now ?? new Date();
  const fullVerifiedAt = ok && full ? now : (point?.fullVerifiedAt ?? null);
  if (ok) await writeVerifiedPoint(db, key, { ...end, verifiedAt: now, fullVerifiedAt });
  const coverage = full
    ? `Verified every record after ${verification.prunedThrough} (the whole chain since the latest prune).`
    : `Verified records ${start.seq + 1}-${end.seq}; records up to ${start.seq} were verified by an earlier check, ` +
      'so a change to them is found by a full verification (keyhole audit verify).';
  const { firstBad: _, ...walked } = verification;
  return { ...walked, ok, bad, ...(ok ? {} : { firstBad: bad[0] }), verifiedFrom: start.seq, verifiedThrough: end.seq, fullVerifiedAt, coverage };
}
