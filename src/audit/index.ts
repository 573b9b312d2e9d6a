export * from './record.ts';
export { appendAuditRecord, appendAuditRecords } from './writer.ts';
export { verifyAuditChain, type ChainFault, type ChainVerification, type ChainProblem } from './verify.ts';
export { type IncrementalChainVerification, verifyAuditChainFromPoint, verifyWholeAuditChain } from './verified-point.ts';
export { recordFromRow, type AuditRow } from './row.ts';
export { type AuditCheckpoint, checkpointSignature, readCheckpoints } from './checkpoint.ts';
export {
  currentRecordedPseudonym,
  currentRecordedPseudonyms,
  KnownPseudonyms,
  type PseudonymScope,
  recordedPseudonym,
  SubjectKeyError,
} from './subject-keys.ts';
export { eraseSubject, type ErasureRequest, type ErasureResult } from './erasure.ts';
export {
  DEFAULT_PRUNE_BATCH,
  describeConflicts,
  planPrune,
  pruneAuditLog,
  PruneRefusedError,
  retentionFor,
  retentionPolicy,
  RetentionPolicyError,
  type PruneOptions,
  type PrunePlan,
  type PruneResult,
  type RetentionConflict,
  type RetentionPolicy,
  type RetentionRule,
  type RetentionRuleSets,
} from './prune.ts';
export { knownReach } from './known-reach.ts';
export { AuditBatcher, type AuditBatcherOptions, keepDrafts, type SettleDrafts } from './batcher.ts';
