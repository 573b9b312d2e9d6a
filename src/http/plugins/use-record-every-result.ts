import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { errorCodeOf } from '../../request/refusals.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { requestState } from '../../request/state.ts';

/**
 * No GraphQL answer leaves without a record. A body that yoga cannot turn into GraphQL parameters (not JSON,
 * no `query`, a parameter of the wrong type) is refused before parsing, so neither execution nor its
 * after-execution hooks (useAudit) see it; its result still passes here before the answer is built.
 */
export function useRecordEveryResult(recordRefusal: RecordRefusal): Plugin {
  return {
    async onResultProcess({ request, result }) {
      const state = requestState(request);
      if (state.audited || Symbol.asyncIterator in result) return;
      const error = (Array.isArray(result) ? result[0] : (result as ExecutionResult))?.errors?.[0];
      await recordRefusal(state, errorCodeOf(error) ?? 'BAD_REQUEST', error?.message ?? 'The request carried no GraphQL operation.');
    },
  };
}
