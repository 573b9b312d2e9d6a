import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { requestState } from '../../request/state.ts';

/**
 * Every answer names its request id — the one its audit record carries — in an `x-request-id` header, and a
 * GraphQL answer in `extensions.requestId` too, so an agent or an officer can match an answer to its record.
 */
export function useRequestId(): Plugin {
  return {
    onResultProcess({ request, result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      setResult({ ...single, extensions: { ...single.extensions, requestId: requestState(request).requestId } });
    },
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestState(request).requestId);
    },
  };
}
