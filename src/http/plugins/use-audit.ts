import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type AuditBatcher, type AuditDraft, appendAuditRecord, keepDrafts, type SettleDrafts } from '../../audit/index.ts';
import { revokedMeanwhile } from '../../identity/index.ts';
import type { Log } from '../../log.ts';
import { auditDraft, type RecordRefusal } from '../../request/audit-draft.ts';
import { ERROR_CODES, errorCodeOf, isRefusal, type RefusalCode, refusal } from '../../request/refusals.ts';
import { type KeyholeContext, type RequestState, requestState } from '../../request/state.ts';
import { DatabaseError, type Queryable } from '../../sql/index.ts';
import { ExecutionDeadline } from '../execution-deadline.ts';
import { inSpan, noteOnRequest } from '../../ops/trace-spans.ts';
import { commitWithRequest } from './use-transaction-scope.ts';

export interface AuditOptions {
  auditKey: Uint8Array;
  /** Group commit for the records of requests that run outside a transaction of their own. */
  batcher: AuditBatcher;
  /** The batcher's last word on drafts (revocation), applied the same way to records written in a request's own transaction. */
  settle?: SettleDrafts;
  /** The endpoint's refusal recorder: failures, deadlines and revocations are recorded on their own with it. */
  recordRefusal: RecordRefusal;
  log: Log;
  /** How long a request may execute (SQL and CPU) before it is answered DEADLINE_EXCEEDED; its late work commits nothing. */
  deadlineMs: number;
}

/** Raised to abandon a request whose execution failed for a reason that is not a refusal. */
class ExecutionFailed extends Error {
  readonly errors: readonly GraphQLError[];
  constructor(errors: readonly GraphQLError[]) {
    super('execution failed');
    this.errors = errors;
  }
}

/** Raised inside a request's own transaction to roll back its writes: the agent was revoked while it ran. */
class RevokedWhileRunning extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super('agent revoked while its request ran');
    this.reason = reason;
  }
}

/**
 * Errors graphql-js raises before any resolver runs (variables that do not fit the view's input types)
 * are the agent's mistake, not ours: a refusal with a stable code and no "Did you mean" hint.
 */
function asRefusalIfRequestError(error: GraphQLError): GraphQLError {
  if (isRefusal(error) || error.path !== undefined) return error;
  if (error.originalError !== undefined && !(error.originalError instanceof GraphQLError)) return error;
  return refusal('INVALID_ARGUMENT', error.message.replace(/\s*Did you mean[\s\S]*$/, ''));
}

/** The answer an execution makes: its result, or its refusals alone; any other error abandons the request. */
function conclude(result: ExecutionResult): ExecutionResult {
  const errors = (result.errors ?? []).map(asRefusalIfRequestError);
  if (errors.some((error) => !isRefusal(error))) throw new ExecutionFailed(errors);
  return errors.length > 0 ? { errors } : result;
}

function draftFor(state: RequestState, auditKey: Uint8Array, answer: ExecutionResult): AuditDraft {
  const refused = answer.errors?.[0];
  const decision = !refused ? 'allowed' : errorCodeOf(refused) === 'APPROVAL_REQUIRED' ? 'pending_approval' : 'denied';
  return auditDraft(state, auditKey, decision, refused ? (errorCodeOf(refused) ?? null) : null, refused?.message ?? null);
}

const revokedAnswer = (reason: string): ExecutionResult => ({ errors: [refusal('AGENT_REVOKED', reason)] });

const revocationReason = (settled: Pick<AuditDraft, 'reason'>) => settled.reason ?? ERROR_CODES.AGENT_REVOKED.message;

function firstCause(errors: readonly GraphQLError[]): unknown {
  return errors.find((e) => !isRefusal(e))?.originalError ?? errors[0];
}

/** What an abandoned request is refused and recorded as. */
function abandonedCode(error: unknown, cause: unknown): RefusalCode {
  if (cause instanceof DatabaseError && cause.timedOut) return 'DEADLINE_EXCEEDED';
  if (cause instanceof DatabaseError && cause.unavailable) return 'DATABASE_UNAVAILABLE';
  return error instanceof ExecutionFailed ? 'INTERNAL' : 'AUDIT_UNAVAILABLE';
}

/**
 * Every operation leaves with its audit record durable, and a refused or failed one with no data. A request
 * in a transaction of its own (useTransactionScope: it writes state, a DP budget spend) has its record written
 * last in that transaction, so its writes and its record commit together or not at all. Any other request's
 * record joins a group commit (AuditBatcher) and its answer waits for it. A failure, a request past its deadline
 * and one whose agent was revoked while it ran are recorded on their own.
 */
export function useAudit(options: AuditOptions): Plugin {
  const settle = options.settle ?? keepDrafts;

  /** Last in the request's own transaction: a revocation rolls back its writes, and the record with them. */
  const recordInTransaction = async (state: RequestState, tx: Queryable, answer: ExecutionResult): Promise<ExecutionResult> => {
    const draft = draftFor(state, options.auditKey, answer);
    const [settled] = await settle(tx, [draft]);
    if (revokedMeanwhile(draft, settled!)) throw new RevokedWhileRunning(revocationReason(settled!));
    const record = await inSpan('keyhole.audit.append', () => appendAuditRecord(tx, options.auditKey, settled!));
    noteOnRequest(state, { 'keyhole.audit_seq': record.seq });
    return answer;
  };

  const recordByGroupCommit = async (state: RequestState, answer: ExecutionResult): Promise<ExecutionResult> => {
    const draft = draftFor(state, options.auditKey, answer);
    // The span is the wait for the group commit that holds this record (the batch's own work is shared).
    const record = await inSpan('keyhole.audit.commit', () => options.batcher.append(draft));
    noteOnRequest(state, { 'keyhole.audit_seq': record.seq });
    state.audited = true;
    return revokedMeanwhile(draft, record) ? revokedAnswer(revocationReason(record)) : answer;
  };

  const abandon = async (state: RequestState, error: unknown): Promise<ExecutionResult> => {
    const cause = error instanceof ExecutionFailed ? firstCause(error.errors) : error;
    const code = abandonedCode(error, cause);
    options.log({ level: 'error', msg: 'request abandoned', requestId: state.requestId, code, error: String(cause) });
    await options.recordRefusal(state, code, String((cause as Error)?.message ?? cause).slice(0, 500), 'error');
    return { errors: [refusal(code)] };
  };

  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const request = (args.contextValue as KeyholeContext).request;
        const state = requestState(request);
        const deadline = new ExecutionDeadline(options.deadlineMs, async () => {
          // Nothing is released past the deadline: whatever the work had charged rolls back with it.
          state.access.privacyCost = null;
          await options.recordRefusal(state, 'DEADLINE_EXCEEDED', `no answer within ${options.deadlineMs} ms`);
          return { errors: [refusal('DEADLINE_EXCEEDED')] };
        });
        // The answer recorded in the request's own transaction, once that has committed; none for a read.
        let committed: ExecutionResult | null = null;
        commitWithRequest(request, async (tx, result) => {
          deadline.check();
          committed = await recordInTransaction(state, tx, conclude(result));
        });
        const answered = async (): Promise<ExecutionResult> => {
          const result = (await executeFn(args)) as ExecutionResult;
          if (committed) {
            state.audited = true;
            return committed;
          }
          deadline.check();
          return recordByGroupCommit(state, conclude(result));
        };
        try {
          return await Promise.race([answered(), deadline.answer]);
        } catch (error) {
          if (deadline.expired) return deadline.answer;
          if (!(error instanceof RevokedWhileRunning)) return await abandon(state, error);
          // Its writes (a spend) rolled back with the transaction; the denial is recorded on its own.
          await options.recordRefusal(state, 'AGENT_REVOKED', error.reason);
          return revokedAnswer(error.reason);
        } finally {
          deadline.clear();
        }
      });
    },
    async onExecutionResult({ request, result }) {
      const state = requestState(request);
      if (state.audited || !result || Symbol.asyncIterator in result) return;
      // Parse and validation failures never reach execution; they are refusals and are recorded too.
      const error = result.errors?.[0];
      await options.recordRefusal(state, errorCodeOf(error) ?? 'GRAPHQL_VALIDATION_FAILED', error?.message ?? null);
    },
  };
}
