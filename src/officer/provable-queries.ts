import { MerkleError, rootAt } from '../audit/merkle/index.ts';
import { ProvableAuditError, nodeReader, proveConsistency, proveRecord } from '../audit/provable/index.ts';
import { refusal } from '../request/refusals.ts';
import type { Queryable } from '../sql/index.ts';

/** The tables the proofs read, for the officer field's audit record. */
export const PROOF_TABLES = ['audit_log', 'audit_tree_nodes', 'audit_checkpoints_signed'] as const;

function positiveSize(name: string, value: number | string): number {
  const size = Number(value);
  if (!Number.isSafeInteger(size) || size < 1) throw refusal('INVALID_ARGUMENT', `"${name}" must be a positive whole number.`);
  return size;
}

/** A proof that cannot be made (a pruned record, no checkpoint yet, a size the tree does not have) is the officer's to fix. */
async function orRefusal<T>(make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof ProvableAuditError || error instanceof MerkleError) throw refusal('INVALID_ARGUMENT', error.message, { reason: error.code });
    throw error;
  }
}

/** `auditProof(seq)`: the inclusion proof `keyhole audit prove` prints, its parts and the whole document. */
export async function auditProof(db: Queryable, seq: number | string) {
  const document = await orRefusal(() => proveRecord(db, positiveSize('seq', seq)));
  return {
    seq: document.record.seq,
    leafIndex: document.leafIndex,
    treeSize: document.treeSize,
    proof: document.proof,
    checkpoint: document.checkpoint,
    document,
  };
}

/** `auditConsistency(size1, size2)`: that the stored tree at size2 extends the one at size1, verified. */
export async function auditConsistency(db: Queryable, size1: number | string, size2: number | string) {
  const [first, second] = [positiveSize('size1', size1), positiveSize('size2', size2)];
  return orRefusal(async () => {
    const read = nodeReader(db);
    return proveConsistency(db, { size: first, root: await rootAt(first, read) }, { size: second, root: await rootAt(second, read) });
  });
}
