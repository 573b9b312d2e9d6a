import { type DocumentNode, type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type AuditBatcher, type AuditDraft, appendAuditRecord, keepDrafts, type SettleDrafts } from '../../audit/index.ts';
import { DatabaseError, type Db, type Queryable } from '../../sql/index.ts';
import { revokedMeanwhile } from '../../identity/index.ts';
import { auditDraft } from '../../request/audit-draft.ts';
import { errorCodeOf, isRefusal, refusal } from '../../request/refusals.ts';
import { requestState, type KeyholeContext, type RequestState } from '../../request/state.ts';

export interface AuditedExecutionOptions {
  db: Db;
  auditKey: Uint8Array;
  /** Group commit for records of requests that write nothing else. */
  batcher: AuditBatcher;
  /** The batcher's last word on drafts (revocation), applied the same way to records written in a request's own transaction. */
  settle?: SettleDrafts;
  log: (event: Record<string, unknown>) => void;
  /** Checks run on a successful read before its record is written (compliance); a refusal denies the answer. */
  beforeRecord?: (state: RequestState, tx: Queryable) => Promise<void>;
  /** Root fields that write state (a budget spend) and so must commit in one transaction with their record. */
  writesState?: (rootField: string) => boolean;
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

/** Raised inside a request's own transaction to roll back its writes: the request outlived its deadline. */
class PastDeadline extends Error {
  constructor() {
    super('request outlived its deadline');
  }
}

/** Raised inside a request's own transaction to roll back its writes: the agent was revoked while it ran. */
class RevokedWhileRunning extends Error {
  readonly draft: AuditDraft;
  constructor(draft: AuditDraft) {
    super('agent revoked while its request ran');
    this.draft = draft;
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

function firstCause(errors: readonly GraphQLError[]): unknown {
  return errors.find((e) => !isRefusal(e))?.originalError ?? errors[0];
}

/** Whether the operation may write state: any root field that does, or a root we cannot see through. */
function needsTransaction(document: DocumentNode, operationName: string | null | undefined, writesState: (field: string) => boolean): boolean {
  const operation = getOperationAST(document, operationName);
  if (!operation) return true;
  return operation.selectionSet.selections.some((selection) => selection.kind !== 'Field' || writesState(selection.name.value));
}

/**
 * Every operation leaves with its audit record durable, and a refused or failed one with no data.
 * Reads only: the reads run, then the record joins a group commit (AuditBatcher) and the answer waits for
 * it. Operations that write (a DP budget spend) run in one transaction with their record instead, so the
 * spend and the record commit together or not at all. A failure is recorded on its own.
 */
export function useAuditedExecution(options: AuditedExecutionOptions): Plugin {
  const writesState = options.writesState ?? (() => false);
  const settle = options.settle ?? keepDrafts;
  const recordOnItsOwn = async (draft: AuditDraft, state: RequestState) => {
    try {
      await options.batcher.append(draft);
      state.audited = true;
    } catch (error) {
      options.log({ level: 'error', msg: 'audit record could not be written', requestId: state.requestId, error: String(error) });
    }
  };

  /** Turns execution errors into the request's refusal (if any), running the pre-record checks on success. */
  const conclude = async (state: RequestState, result: ExecutionResult, queryable: Queryable): Promise<GraphQLError[]> => {
    const errors = (result.errors ?? []).map(asRefusalIfRequestError);
    if (errors.some((error) => !isRefusal(error))) throw new ExecutionFailed(errors);
    if (errors.length > 0 || !options.beforeRecord) return errors;
    try {
      await options.beforeRecord(state, queryable);
      return [];
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return [error as GraphQLError];
    }
  };

  const draftFor = (state: RequestState, errors: GraphQLError[]): AuditDraft => {
    const refused = errors[0];
    const decision = !refused ? 'allowed' : errorCodeOf(refused) === 'APPROVAL_REQUIRED' ? 'pending_approval' : 'denied';
    return auditDraft(state, decision, refused ? (errorCodeOf(refused) ?? null) : null, refused?.message ?? null);
  };

  const revokedRefusal = (settled: Pick<AuditDraft, 'reason'>): ExecutionResult => ({ errors: [refusal('AGENT_REVOKED', settled.reason ?? undefined)] });

  const respond = (state: RequestState, result: ExecutionResult, errors: GraphQLError[]): ExecutionResult => {
    if (errors.length > 0) return { errors };
    // The policy's statement, not the audit record's counts: those depend on who matched the agent's filter.
    const withheld = [...state.withholding].map(([table, jurisdictions]) => ({ table, jurisdictions }));
    return withheld.length > 0 ? { ...result, extensions: { ...result.extensions, withheld } } : result;
  };

  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const state = requestState((args.contextValue as KeyholeContext).request);
        // Past the deadline the agent gets a recorded refusal at once; the work still running then commits nothing.
        // Work that never yields to the timer (embedded PGlite runs a statement in one go) is judged when it ends.
        const startedAt = performance.now();
        let expired = false;
        let timer: NodeJS.Timeout | undefined;
        let expire = () => {};
        const deadline = new Promise<ExecutionResult>((resolve) => {
          expire = () => {
            if (expired) return;
            expired = true;
            clearTimeout(timer);
            // Nothing is released past the deadline: whatever the work had charged rolls back with it.
            state.access.privacyCost = null;
            void recordOnItsOwn(auditDraft(state, 'denied', 'DEADLINE_EXCEEDED', `no answer within ${options.deadlineMs} ms`), state).then(() =>
              resolve({ errors: [refusal('DEADLINE_EXCEEDED')] }),
            );
          };
          timer = setTimeout(expire, options.deadlineMs);
        });
        const checkDeadline = () => {
          if (performance.now() - startedAt >= options.deadlineMs) expire();
          if (expired) throw new PastDeadline();
        };
        const execute = async (queryable: Queryable) => {
          state.tx = queryable;
          const result = (await executeFn(args)) as ExecutionResult;
          checkDeadline();
          return { result, errors: await conclude(state, result, queryable) };
        };
        const audited = async (): Promise<ExecutionResult> => {
          if (needsTransaction(args.document, args.operationName, writesState)) {
            const { result, errors } = await options.db.transaction(async (tx) => {
              // The server stops the request's statements at its deadline too, so none outlives the answer.
              await tx.query(`SET LOCAL statement_timeout = ${Math.ceil(options.deadlineMs)}`);
              const outcome = await execute(tx);
              checkDeadline();
              const draft = draftFor(state, outcome.errors);
              const [settled] = await settle(tx, [draft]);
              if (revokedMeanwhile(draft, settled!)) throw new RevokedWhileRunning(settled!);
              await appendAuditRecord(tx, options.auditKey, settled!);
              return outcome;
            });
            state.audited = true;
            return respond(state, result, errors);
          }
          const { result, errors } = await execute(options.db);
          const draft = draftFor(state, errors);
          const record = await options.batcher.append(draft);
          state.audited = true;
          return revokedMeanwhile(draft, record) ? revokedRefusal(record) : respond(state, result, errors);
        };
        try {
          return await Promise.race([audited(), deadline]);
        } catch (error) {
          if (expired) return deadline;
          if (error instanceof RevokedWhileRunning) {
            // Its spend rolled back with the transaction; the denial is recorded on its own.
            await recordOnItsOwn(error.draft, state);
            return revokedRefusal(error.draft);
          }
          const cause = error instanceof ExecutionFailed ? firstCause(error.errors) : error;
          const timedOut = cause instanceof DatabaseError && cause.timedOut;
          const databaseDown = cause instanceof DatabaseError && cause.unavailable;
          const code = timedOut
            ? 'DEADLINE_EXCEEDED'
            : databaseDown
              ? 'DATABASE_UNAVAILABLE'
              : error instanceof ExecutionFailed
                ? 'INTERNAL'
                : 'AUDIT_UNAVAILABLE';
          options.log({ level: 'error', msg: 'request abandoned', requestId: state.requestId, code, error: String(cause) });
          await recordOnItsOwn(auditDraft(state, 'error', code, String((cause as Error)?.message ?? cause).slice(0, 500)), state);
          return { errors: [refusal(code)] };
        } finally {
          clearTimeout(timer);
          state.tx = null;
        }
      });
    },
    async onExecutionResult({ request, result }) {
      const state = requestState(request);
      if (state.audited || !result || Symbol.asyncIterator in result) return;
      // Parse and validation failures never reach execution; they are refusals and are recorded too.
      const error = result.errors?.[0];
      await recordOnItsOwn(auditDraft(state, 'denied', errorCodeOf(error) ?? 'GRAPHQL_VALIDATION_FAILED', error?.message ?? null), state);
    },
  };
}
