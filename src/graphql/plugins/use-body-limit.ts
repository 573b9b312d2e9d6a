import type { Plugin } from 'graphql-yoga';
import type { BodyLimitContext } from '../../http/server.ts';
import { isEndpoint } from '../../http/endpoint.ts';
import { ERROR_CODES } from '../../request/refusals.ts';
import { refusalResponse } from '../../request/refusal-response.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { requestState } from '../../request/state.ts';

/**
 * A body the HTTP server stopped reading at its size limit is refused 413 on every route, before any route
 * could read it; on the agents' endpoints (`agentPaths`: /graphql, /mcp) the refusal is recorded like any other.
 */
export function useBodyLimit(agentPaths: readonly string[], recordRefusal: RecordRefusal): Plugin {
  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (!(serverContext as BodyLimitContext).bodyTooLarge) return;
      if (agentPaths.some((path) => isEndpoint(url, path)))
        await recordRefusal(requestState(request), 'PAYLOAD_TOO_LARGE', ERROR_CODES.PAYLOAD_TOO_LARGE.message);
      endResponse(refusalResponse(request, 'PAYLOAD_TOO_LARGE'));
    },
  };
}
