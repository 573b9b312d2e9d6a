import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type AuditDraft, appendAuditRecord } from '../../audit/index.ts';
import { DatabaseError, type Db, type Queryable } from '../../sql/index.ts';
import { auditDraft } from '../audit-draft.ts';
import { errorCodeOf, isRefusal, refusal } from '../errors.ts';
import { requestState, type KeyholeContext, type RequestState } from '../request-state.ts';

export interface AuditedExecutionOptions {
  db: Db;
  auditKey: Uint8Array;
  log: (event: Record<string, unknown>) => void;
  /** Checks run on a successful read before its record is written (compliance); a refusal denies the answer. */
  beforeRecord?: (state: RequestState, tx: Queryable) => Promise<void>;
}

/** Raised inside the transaction to roll it back when execution failed for a reason that is not a refusal. */
class ExecutionFailed extends Error {
  readonly errors: readonly GraphQLError[];
  constructor(errors: readonly GraphQLError[]) {
    super('execution failed');
    this.errors = errors;
  }
}

/**
 * Errors graphql-js raises before any resolver runs (variables that do not fit the view's input types)
 * are the agent's mistake, not ours: a refusal with a stable code and no "Did you mean" hint.
 */
function asRefusalIfRequestError(error: GraphQLError): GraphQLError {
  if (isRefusal(error) || error.path !== undefined) return error;
  if (error.originalError !== undefined && !(error.originalError instanceof GraphQLError)) return error;
  return refusal('INVALID_ARGUMENT', error.message.replace(/\s*Did you mean[^]*$/, ''));
}

function firstCause(errors: readonly GraphQLError[]): unknown {
  return errors.find((e) => !isRefusal(e))?.originalError ?? errors[0];
}

/**
 * Runs each operation in one transaction with its audit record: the reads, the record (and, later, any
 * budget spend) commit together or not at all, and data is returned only after that commit.
 * A refused request returns no partial data; a failed one rolls back and is recorded on its own.
 */
export function useAuditedExecution(options: AuditedExecutionOptions): Plugin {
  const recordOnItsOwn = async (draft: AuditDraft, state: RequestState) => {
    try {
      await options.db.transaction((tx) => appendAuditRecord(tx, options.auditKey, draft));
      state.audited = true;
    } catch (error) {
      options.log({ level: 'error', msg: 'audit record could not be written', requestId: state.requestId, error: String(error) });
    }
  };

  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const state = requestState((args.contextValue as KeyholeContext).request);
        try {
          return await options.db.transaction(async (tx) => {
            state.tx = tx;
            const result = (await executeFn(args)) as ExecutionResult;
            let errors = (result.errors ?? []).map(asRefusalIfRequestError);
            if (errors.some((error) => !isRefusal(error))) throw new ExecutionFailed(errors);
            if (errors.length === 0 && options.beforeRecord) {
              try {
                await options.beforeRecord(state, tx);
              } catch (error) {
                if (!isRefusal(error)) throw error;
                errors = [error as GraphQLError];
              }
            }
            const refused = errors[0];
            const decision = refused ? 'denied' : 'allowed';
            await appendAuditRecord(tx, options.auditKey, auditDraft(state, decision, refused ? errorCodeOf(refused) ?? null : null, refused?.message ?? null));
            state.audited = true;
            if (refused) return { errors };
            const withheld = state.access.details.withheld;
            return withheld ? { ...result, extensions: { ...result.extensions, withheld } } : result;
          });
        } catch (error) {
          const cause = error instanceof ExecutionFailed ? firstCause(error.errors) : error;
          const databaseDown = cause instanceof DatabaseError && cause.unavailable;
          const code = databaseDown ? 'DATABASE_UNAVAILABLE' : error instanceof ExecutionFailed ? 'INTERNAL' : 'AUDIT_UNAVAILABLE';
          options.log({ level: 'error', msg: 'request rolled back', requestId: state.requestId, code, error: String(cause) });
          await recordOnItsOwn(auditDraft(state, 'error', code, String((cause as Error)?.message ?? cause).slice(0, 500)), state);
          return { errors: [refusal(code)] };
        } finally {
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
