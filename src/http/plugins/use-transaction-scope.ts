import { type DocumentNode, type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type KeyholeContext, requestState } from '../../request/state.ts';
import type { Db, Queryable } from '../../sql/index.ts';

export interface TransactionScopeOptions {
  db: Db;
  /** Root fields that write state (a budget spend) and so must commit in one transaction with their record. */
  writesState?: (rootField: string) => boolean;
  /** The request's deadline: the server stops its transaction's statements there too. */
  deadlineMs: number;
}

/** Work that commits in a request's own transaction, after its execution, given the result: its audit record. */
export type CommitWork = (tx: Queryable, result: ExecutionResult) => Promise<void>;

const commitWork = new WeakMap<Request, CommitWork[]>();

/**
 * Adds work to run last in the request's own transaction, before it commits; a throw rolls all of it back. A
 * request that runs outside a transaction (see useTransactionScope) never runs it: the caller finds out by the
 * work not having run.
 */
export function commitWithRequest(request: Request, work: CommitWork): void {
  commitWork.set(request, [...(commitWork.get(request) ?? []), work]);
}

/** Whether the operation may write state: any root field that does, or a root we cannot see through. */
function needsTransaction(document: DocumentNode, operationName: string | null | undefined, writesState: (field: string) => boolean): boolean {
  const operation = getOperationAST(document, operationName);
  if (!operation) return true;
  return operation.selectionSet.selections.some((selection) => selection.kind !== 'Field' || writesState(selection.name.value));
}

/**
 * Where a request's statements run while it executes (`requestState(request).tx`). An operation that may write
 * state runs in a transaction of its own, so that its writes and the work committed with them (its audit record,
 * see commitWithRequest) commit together or not at all; a read runs on the database itself, its record written by
 * group commit. Later stages that run on the request's statements (privacy spend, compliance) come before this
 * plugin in the list, so that they run inside it.
 */
export function useTransactionScope(options: TransactionScopeOptions): Plugin {
  const writesState = options.writesState ?? (() => false);
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const request = (args.contextValue as KeyholeContext).request;
        const state = requestState(request);
        const execute = async (queryable: Queryable) => {
          state.tx = queryable;
          return (await executeFn(args)) as ExecutionResult;
        };
        try {
          if (!needsTransaction(args.document, args.operationName, writesState)) return await execute(options.db);
          return await options.db.transaction(async (tx) => {
            // The server stops the request's statements at its deadline too, so none outlives the answer.
            await tx.query(`SET LOCAL statement_timeout = ${Math.ceil(options.deadlineMs)}`);
            const result = await execute(tx);
            for (const work of commitWork.get(request) ?? []) await work(tx, result);
            return result;
          });
        } finally {
          state.tx = null;
        }
      });
    },
  };
}
