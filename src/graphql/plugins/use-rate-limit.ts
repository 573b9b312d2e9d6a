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
 * Each agent's requests and rows per minute, counted in the database so that every broker shares them. A request
 * is admitted (and counted) after identity, before it is parsed; its rows are charged once it has been answered
 * and recorded, so the request after the minute's rows are spent is the one refused: RATE_LIMITED, 429 with
 * Retry-After, recorded like every refusal. A limiter that cannot reach its table refuses (fails closed).
 */
export function useRateLimit(options: RateLimitOptions): Plugin {
  const limiter = new RateLimiter(options.db);
  return {
    async onRequest({ request, endResponse }) {
      const { state, agent } = requestAgent(request);
      let limited: RateLimited | null;
      try {
        limited = await limiter.admit(agent.id, agent.agent.rateLimit);
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
