import { createHmac } from 'node:crypto';
import type { Queryable } from '../sql/index.ts';
import { canonicalJson } from './record.ts';

/**
 * What remains of records 1..seq once they are pruned: the last one's hash, so the chain still verifies from
 * seq + 1, signed with the audit key so nobody without it can move the starting point.
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** Records this checkpoint's batch removed: it follows the previous checkpoint at seq - prunedCount. */
  prunedCount: number;
  /** The cut-off the prune was asked for. */
  prunedBefore: Date;
  createdAt: Date;
  signature: string;
}

/** Where a chain with nothing pruned starts. */
export const GENESIS = { seq: 0, hash: 'genesis' } as const;

/** HMAC under the audit key; the label keeps a checkpoint's signature from ever passing as a record hash. */
export function checkpointSignature(key: Uint8Array, checkpoint: Omit<AuditCheckpoint, 'signature'>): string {
  const body = canonicalJson({
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    prunedCount: checkpoint.prunedCount,
    prunedBefore: checkpoint.prunedBefore.toISOString(),
    createdAt: checkpoint.createdAt.toISOString(),
  });
  return createHmac('sha256', key).update('audit-checkpoint\n').update(body).digest('hex');
}

export async function readCheckpoints(db: Queryable): Promise<AuditCheckpoint[]> {
  const { rows } = await db.query<{ seq: number; hash: string; pruned_count: number; pruned_before: Date; created_at: Date; signature: string }>(
    'SELECT seq, hash, pruned_count, pruned_before, created_at, signature FROM audit_checkpoints ORDER BY seq',
  );
  return rows.map((row) => ({
    seq: Number(row.seq),
    hash: row.hash,
    prunedCount: Number(row.pruned_count),
    prunedBefore: new Date(row.pruned_before),
    createdAt: new Date(row.created_at),
    signature: row.signature,
  }));
}

/**
 * Every checkpoint that is forged or altered, or that does not follow the one before it (a checkpoint was
 * removed): checkpoints form a chain of their own, from 0 by pruned_count.
 */
export function invalidCheckpoints(key: Uint8Array, checkpoints: readonly AuditCheckpoint[]): Array<{ seq: number; detail: string }> {
  const invalid: Array<{ seq: number; detail: string }> = [];
  let previousSeq: number = GENESIS.seq;
  for (const checkpoint of checkpoints) {
    const { signature, ...signed } = checkpoint;
    if (checkpointSignature(key, signed) !== signature) {
      invalid.push({ seq: checkpoint.seq, detail: `the checkpoint of pruned records up to ${checkpoint.seq} is forged or was modified` });
    } else if (checkpoint.seq !== previousSeq + checkpoint.prunedCount) {
      invalid.push({ seq: checkpoint.seq, detail: `the checkpoint at ${checkpoint.seq} does not follow the one at ${previousSeq}: a checkpoint was removed` });
    }
    previousSeq = checkpoint.seq;
  }
  return invalid;
}

/** Where the chain now starts: the latest checkpoint, or genesis when nothing was pruned. */
export async function latestCheckpoint(db: Queryable): Promise<Pick<AuditCheckpoint, 'seq' | 'hash'>> {
  return (await readCheckpoints(db)).at(-1) ?? GENESIS;
}
