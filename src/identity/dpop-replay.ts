import type { Queryable } from '../sql/index.ts';
import type { VerifiedDpopProof } from './dpop.ts';

/** How often one broker deletes expired proofs, and how many at most per go, so no request waits on a long delete. */
const PRUNE_EVERY_MS = 10_000;
const PRUNE_BATCH = 1000;

/**
 * The proofs every broker has accepted (table dpop_proofs_seen, migration 160): a proof is spent by inserting
 * its key thumbprint and `jti`, and a second insert of the same pair, on any broker, finds it there. The insert
 * runs on its own, outside the request's transaction and before the request runs, so it commits even when the
 * request later fails: a proof is spent once it has been presented, whatever became of its request.
 */
export class DpopReplayStore {
  private lastPrunedAt = 0;
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  /** True when this proof had not been used before (it is now spent); false when it is a replay. */
  async spend(proof: VerifiedDpopProof, now = Date.now()): Promise<boolean> {
    if (now - this.lastPrunedAt >= PRUNE_EVERY_MS) {
      this.lastPrunedAt = now;
      await this.db.query(`DELETE FROM dpop_proofs_seen WHERE ctid IN (SELECT ctid FROM dpop_proofs_seen WHERE expires_at < now() LIMIT ${PRUNE_BATCH})`);
    }
    const { rows } = await this.db.query(
      'INSERT INTO dpop_proofs_seen (jkt, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jkt, jti) DO NOTHING RETURNING 1',
      [proof.jkt, proof.jti, proof.expiresAt],
    );
    return rows.length === 1;
  }
}
