import { CodedError } from '../merkle/errors.ts';

export type ProvableAuditErrorCode =
  | 'AUDIT_TREE_GAP'
  | 'AUDIT_TREE_AHEAD'
  | 'AUDIT_RECORD_UNKNOWN'
  | 'AUDIT_RECORD_PRUNED'
  | 'AUDIT_NO_CHECKPOINT'
  | 'AUDIT_CHECKPOINT_KEY_MISSING'
  | 'AUDIT_CHECKPOINT_SINK'
  | 'AUDIT_CHECKPOINT_INVALID'
  | 'AUDIT_PROOF_INVALID';

/** A refusal of the provable audit log, with a stable code and a message that says why. */
export class ProvableAuditError extends CodedError<ProvableAuditErrorCode> {}
