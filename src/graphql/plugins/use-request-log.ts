import type { Plugin } from 'graphql-yoga';
import type { Log } from '../../log.ts';
import { isEndpoint } from '../../http/endpoint.ts';
import { requestState } from '../../request/state.ts';

/** One structured line per request: who, what, outcome, size and time — never a returned value. */
export function useRequestLog(graphqlPath: string, log: Log): Plugin {
  return {
    onResponse({ request, response }) {
      if (!isEndpoint(new URL(request.url), graphqlPath)) return;
      const state = requestState(request);
      const principal = state.principal;
      log({
        msg: 'request',
        requestId: state.requestId,
        agent: principal?.id ?? null,
        purpose: principal?.kind === 'agent' ? principal.purpose : null,
        operation: state.operationName,
        status: response.status,
        rows: state.access.rowCount,
        subjects: state.access.subjects.size,
        tables: [...state.access.tables],
        ms: Math.round((performance.now() - state.startedAt) * 10) / 10,
      });
    },
  };
}
