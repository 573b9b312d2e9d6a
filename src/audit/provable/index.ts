export { auditLeafData, auditLeafHash, leafIndexOf } from './leaf.ts';
export { ProvableAuditError, type ProvableAuditErrorCode } from './errors.ts';
export { type CheckpointConfig, checkpointConfigFrom, checkpointSinkAt, checkpointSinkOf, objectStoreConfigFrom } from './checkpoint-config.ts';
export { type CheckpointKey, loadCheckpointKey } from './checkpoint-key.ts';
export { checkpointFileName, type CheckpointSink, type CheckpointSource, directorySink } from './checkpoint-sink.ts';
export { type ObjectStoreConfig, objectStoreSink } from './object-store-sink.ts';
export { Checkpointer, checkpointDue, type SignedCheckpoint, unappendedCheckpoints } from './checkpointer.ts';
export { ensureAuditTree, nodeReader } from './tree-store.ts';
export {
  type CheckpointFault,
  type CheckpointProblem,
  type CheckpointVerification,
  openCheckpoints,
  verifyAgainstCheckpoints,
} from './verify-checkpoints.ts';
export {
  checkInclusionProof,
  type ConsistencyProofDocument,
  INCLUSION_PROOF_FORMAT,
  type InclusionProofDocument,
  latestSignedCheckpoint,
  openCheckpoint,
  proveConsistency,
  proveRecord,
} from './proofs.ts';
export { type CheckpointSetup, loadCheckpointSetup, startCheckpointing } from './setup.ts';
