import type { Plugin } from 'graphql-yoga';
import { ERROR_CODES } from '../../request/refusals.ts';
import { refusalResponse } from '../../request/refusal-response.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { requestState } from '../../request/state.ts';

/**
 * While the broker drains for shutdown, a request that still arrives (on a kept-alive connection) is refused
 * with SHUTTING_DOWN and recorded, so a client retries elsewhere and the log misses nothing. After identity, so
 * the record names the agent.
 */
export function useDrainGate(draining: () => boolean, recordRefusal: RecordRefusal): Plugin {
  return {
    async onRequest({ request, endResponse }) {
      if (!draining()) return;
      await recordRefusal(requestState(request), 'SHUTTING_DOWN', ERROR_CODES.SHUTTING_DOWN.message);
      endResponse(refusalResponse(request, 'SHUTTING_DOWN'));
    },
  };
}
