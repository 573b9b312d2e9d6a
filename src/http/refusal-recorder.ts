import type { AuditBatcher } from '../audit/index.ts';
import type { Log } from '../log.ts';
import { auditDraft, type RecordRefusal } from '../request/audit-draft.ts';

/**
 * An endpoint's one way to record a request answered without data: refused by a gate or by identity, unparsable or
 * invalid, abandoned on a failure or past its deadline. By group commit, like a read's record; a refusal whose batch
 * fails is kept by the batcher and written once the log takes records again (nothing was sent, so it still tells
 * the truth).
 */
export function refusalRecorder(batcher: AuditBatcher, auditKey: Uint8Array, log: Log): RecordRefusal {
  return async (state, code, reason, decision = 'denied') => {
    try {
      await batcher.append(auditDraft(state, auditKey, decision, code, reason));
      state.audited = true;
    } catch (error) {
      log({ level: 'error', msg: 'audit record of a refusal could not be written', requestId: state.requestId, code, error: String(error) });
    }
  };
}
