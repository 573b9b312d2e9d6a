import type { RateLimit } from '../../config/index.ts';
import type { Queryable } from '../../sql/index.ts';

/** Why a request is refused: which allowance is used up, and in how many whole seconds a request fits again. */
export interface RateLimited {
  limitedBy: 'requests' | 'rows';
  retryAfterSeconds: number;
}

/** The buckets and their arithmetic are in the database (rate_limit_take, migration 090), shared by every broker. */
const TAKE = 'SELECT granted, refused_by, retry_after, rows_spent FROM rate_limit_take($1, $2, $3, $4, $5)';

interface Take {
  granted: number;
  refused_by: RateLimited['limitedBy'] | null;
  retry_after: number | null;
  rows_spent: boolean;
}

/**
 * How much of a minute's allowance a broker takes from the database at a time: 1 %, at least one. Below 200 a
 * minute that is one, so every request and every answer's rows go to the database; above, the database is asked
 * once per 1 % of the limit instead of on every request.
 */
const SHARE_OF_MINUTE = 0.01;
const batch = (perMinute: number) => Math.max(1, Math.floor(perMinute * SHARE_OF_MINUTE));

/** This broker's part of one agent's allowance: requests taken from the database and not used yet, rows not charged yet. */
interface Share {
  requests: number;
  rows: number;
}

/**
 * Per-agent allowances of requests and rows per minute, kept in the database so that every broker shares them.
 * Requests are taken before they are used, so all brokers together never admit more than the limit; a broker
 * holds at most a batch less one of them unused, and charges rows in batches (docs/agent-controls.md).
 */
export class RateLimiter {
  readonly #db: Queryable;
  readonly #shares = new Map<string, Share>();

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Admits and counts one request of `agentId` (null), or says why it is refused. At most one statement. */
  async admit(agentId: string, limit: RateLimit): Promise<RateLimited | null> {
    const share = this.#share(agentId);
    if (share.requests > 0) {
      share.requests -= 1;
      return null;
    }
    const taken = await this.#take(agentId, limit, batch(limit.requestsPerMinute), share);
    if (taken.granted === 0) {
      // Whole seconds, rounded up (RFC 9110's Retry-After): sooner, the request would be refused again.
      return { limitedBy: taken.refused_by ?? 'requests', retryAfterSeconds: Math.max(1, Math.ceil(taken.retry_after ?? 0)) };
    }
    share.requests += taken.granted - 1;
    return null;
  }

  /** Counts the rows an admitted request of `agentId` returned, charging them once they make a batch. */
  async chargeRows(agentId: string, limit: RateLimit, rows: number): Promise<void> {
    const share = this.#share(agentId);
    share.rows += rows;
    if (share.rows < batch(limit.rowsPerMinute)) return;
    const taken = await this.#take(agentId, limit, 0, share);
    // The minute's rows are spent: the requests this broker holds would be admitted past that, so they go.
    if (taken.rows_spent) share.requests = 0;
  }

  #share(agentId: string): Share {
    let share = this.#shares.get(agentId);
    if (!share) {
      share = { requests: 0, rows: 0 };
      this.#shares.set(agentId, share);
    }
    return share;
  }

  /** Takes up to `requests` requests, charging the share's rows with them; rows not charged stay in the share. */
  async #take(agentId: string, limit: RateLimit, requests: number, share: Share): Promise<Take> {
    const rows = share.rows;
    share.rows = 0;
    try {
      const result = await this.#db.query<Take>(TAKE, [agentId, limit.requestsPerMinute, limit.rowsPerMinute, requests, rows]);
      const taken = result.rows[0];
      if (!taken) throw new Error(`the rate limit of ${agentId} returned no row`);
      return taken;
    } catch (error) {
      share.rows += rows;
      throw error;
    }
  }
}
