import type { Plugin } from 'graphql-yoga';
import { type RateLimited, RateLimiter } from '../../agent-controls/rate-limit/index.ts';
import type { AgentPrincipal } from '../../identity/index.ts';
import type { Log } from '../../log.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { refusalResponse } from '../../request/refusal-response.ts';
import { type RequestState, requestState } from '../../request/state.ts';
import type { Db } from '../../sql/index.ts';

export interface RateLimitOptions {
  /** Where the limits are counted: the database every broker shares. */
  db: Db;
  recordRefusal: RecordRefusal;
  log: Log;
  /** How many requests one HTTP request counts for (an /mcp POST may carry a batch of JSON-RPC messages); one by default. */
  requestsIn?: (request: Request, url: URL) => number | Promise<number>;
}

/** Requests the broker makes itself for one it has counted already: a tool call's GraphQL request (src/mcp). */
const admitted = new WeakSet<Request>();

/**
 * Marks `request`, which the broker makes for a request already counted, so that it is not counted again; its rows
 * still are. Only the broker's code holds its Request objects, so nothing an agent sends can mark one.
 */
export function markAdmitted(request: Request): void {
  admitted.add(request);
}

/** The request's state and its agent: identity runs first and ends every request it does not establish as an agent's. */
function requestAgent(request: Request): { state: RequestState; agent: AgentPrincipal } {
  const state = requestState(request);
  if (state.principal?.kind !== 'agent') throw new Error('identity must run before the rate limit');
  return { state, agent: state.principal };
}

function limitedMessage(agent: AgentPrincipal, limited: RateLimited): string {
  const { requestsPerMinute, rowsPerMinute } = agent.agent.rateLimit;
  const spent = limited.limitedBy === 'requests' ? `${requestsPerMinute} requests` : `${rowsPerMinute} rows`;
  return `This agent has had its ${spent} per minute; retry in ${limited.retryAfterSeconds} s.`;
}

/**
 * Each agent's requests and rows per minute, counted in the database so that every broker shares them, on every
 * endpoint an agent reaches (/graphql, /mcp). A request is admitted (and counted) after identity, before it is
 * parsed; its rows are charged once it has been answered and recorded, so the request after the minute's rows are
 * spent is the one refused: RATE_LIMITED, 429 with Retry-After, recorded like every refusal. A limiter that cannot
 * reach its table refuses (fails closed).
 */
export function useRateLimit(options: RateLimitOptions): Plugin {
  const limiter = new RateLimiter(options.db);
  return {
    async onRequest({ request, url, endResponse }) {
      if (admitted.has(request)) return;
      const { state, agent } = requestAgent(request);
      const requests = (await options.requestsIn?.(request, url)) ?? 1;
      let limited: RateLimited | null = null;
      try {
        // Up to the first refused: those admitted before it stay counted, as requests the agent made all the same.
        for (let i = 0; i < requests && !limited; i++) limited = await limiter.admit(agent.id, agent.agent.rateLimit);
      } catch (error) {
        options.log({ level: 'error', msg: 'rate limit unavailable', requestId: state.requestId, error: String(error) });
        const message = "The broker cannot check this agent's rate limit right now; nothing was done.";
        await options.recordRefusal(state, 'DATABASE_UNAVAILABLE', message, 'error');
        return endResponse(refusalResponse(request, 'DATABASE_UNAVAILABLE', message));
      }
      if (!limited) return;
      const message = limitedMessage(agent, limited);
      await options.recordRefusal(state, 'RATE_LIMITED', message);
      const response = refusalResponse(request, 'RATE_LIMITED', message);
      response.headers.set('retry-after', String(limited.retryAfterSeconds));
      endResponse(response);
    },
    async onExecutionResult({ request, result }) {
      if (!result || Symbol.asyncIterator in result || result.errors?.length) return;
      const { state, agent } = requestAgent(request);
      try {
        await limiter.chargeRows(agent.id, agent.agent.rateLimit, state.access.rowCount);
      } catch (error) {
        // The answer is recorded and goes out; the next request's admission fails closed if the database is still down.
        options.log({ level: 'error', msg: 'rows not charged to the rate limit', requestId: state.requestId, error: String(error) });
      }
    },
  };
}
