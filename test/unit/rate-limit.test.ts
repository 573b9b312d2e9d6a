/**
 * Rate limits: what schema/agents.yaml may say (a limit always applies), and the buckets' arithmetic in the
 * database (rate_limit_take), with time passing by moving a bucket's last drain back.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/agent-controls/rate-limit/index.ts';
import { ConfigError, DEFAULT_RATE_LIMIT, loadProjectConfig } from '../../src/config/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { projectWith } from '../support/project.ts';

/** The shipped agents.yaml with support-bot's rateLimit line replaced by `line` (or removed). */
async function supportLimit(line: string | null) {
  const root = await projectWith({
    'schema/agents.yaml': (text) => text.replace(/ {4}rateLimit: \{[^}]*\}\n/, line === null ? '' : `    ${line}\n`),
  });
  try {
    return await loadProjectConfig(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('rate limits in schema/agents.yaml', () => {
  it('gives an agent that declares none the documented defaults: 600 requests and 20 000 rows a minute', async () => {
    const config = await supportLimit(null);
    expect(config.registry.agents.get('support-bot')!.rateLimit).toEqual({ requestsPerMinute: 600, rowsPerMinute: 20_000 });
    expect(DEFAULT_RATE_LIMIT).toEqual({ requestsPerMinute: 600, rowsPerMinute: 20_000 });
  });

  it('keeps the default of the one an agent leaves out', async () => {
    const config = await supportLimit('rateLimit: { rowsPerMinute: 50 }');
    expect(config.registry.agents.get('support-bot')!.rateLimit).toEqual({ requestsPerMinute: 600, rowsPerMinute: 50 });
  });

  it.each([
    ['rateLimit: { requestsPerMinute: 0 }', 'rateLimit.requestsPerMinute'],
    ['rateLimit: { requestsPerMinute: 2.5 }', 'rateLimit.requestsPerMinute'],
    ['rateLimit: { requestsPerMinute: 1000001 }', 'rateLimit.requestsPerMinute'],
    ['rateLimit: { rowsPerMinute: -1 }', 'rateLimit.rowsPerMinute'],
    ['rateLimit: { rowsPerMinute: lots }', 'rateLimit.rowsPerMinute'],
    ['rateLimit: { requestsPerHour: 10 }', 'rateLimit'],
  ])('refuses %s, naming the field', async (line, field) => {
    const error = await supportLimit(line).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.field)).toContain(`agents.support-bot.${field}`);
  });
});

describe('the buckets of rate_limit_take', () => {
  let t: TestDatabase;
  let limiter: RateLimiter;
  const letTimePass = (seconds: number) => t.db.query('UPDATE agent_rate_limits SET drained_at = drained_at - make_interval(secs => $1)', [seconds]);
  const level = async () =>
    (await t.db.query<{ requests_level: number; rows_level: number }>('SELECT requests_level, rows_level FROM agent_rate_limits')).rows[0]!;

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  beforeEach(async () => {
    await t.db.query('DELETE FROM agent_rate_limits');
    // A broker's limiter, new for each test: what it holds of an agent's allowance lives as long as it does.
    limiter = new RateLimiter(t.db);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('admits one request a minute at a limit of one, and says a minute until the next', async () => {
    const limit = { requestsPerMinute: 1, rowsPerMinute: 100 };
    expect(await limiter.admit('a', limit)).toBeNull();
    expect(await limiter.admit('a', limit)).toEqual({ limitedBy: 'requests', retryAfterSeconds: 60 });
    await letTimePass(59);
    expect(await limiter.admit('a', limit)).toEqual({ limitedBy: 'requests', retryAfterSeconds: 1 });
    await letTimePass(1);
    expect(await limiter.admit('a', limit)).toBeNull();
  });

  it('drains at the limit per minute: half a minute frees half the requests', async () => {
    const limit = { requestsPerMinute: 10, rowsPerMinute: 100 };
    for (let i = 0; i < 10; i++) expect(await limiter.admit('a', limit)).toBeNull();
    expect(await limiter.admit('a', limit)).toMatchObject({ limitedBy: 'requests', retryAfterSeconds: 6 });
    await letTimePass(30);
    for (let i = 0; i < 5; i++) expect(await limiter.admit('a', limit)).toBeNull();
    expect(await limiter.admit('a', limit)).toMatchObject({ limitedBy: 'requests' });
  });

  it('charges rows after the fact even past the limit, and then refuses until one row fits', async () => {
    const limit = { requestsPerMinute: 100, rowsPerMinute: 10 };
    expect(await limiter.admit('a', limit)).toBeNull();
    await limiter.chargeRows('a', limit, 25);
    await limiter.chargeRows('a', limit, 5);
    expect((await level()).rows_level).toBeCloseTo(30, 2);
    // 30 rows in a bucket of 10: room for one row once 21 have drained, at 10 a minute.
    expect(await limiter.admit('a', limit)).toEqual({ limitedBy: 'rows', retryAfterSeconds: 126 });
    await letTimePass(126);
    expect(await limiter.admit('a', limit)).toBeNull();
  });

  it('names the bucket with the longer wait when both are full', async () => {
    // Requests: 1 of 1 a minute, a 60 s wait. Rows: 2 of 2, a 30 s wait.
    const fewRequests = { requestsPerMinute: 1, rowsPerMinute: 2 };
    expect(await limiter.admit('a', fewRequests)).toBeNull();
    await limiter.chargeRows('a', fewRequests, 2);
    expect(await limiter.admit('a', fewRequests)).toEqual({ limitedBy: 'requests', retryAfterSeconds: 60 });
    // Requests: 1 of 2, a 0 s wait. Rows: 3 of 2, a 60 s wait.
    const fewRows = { requestsPerMinute: 2, rowsPerMinute: 2 };
    expect(await limiter.admit('b', fewRows)).toBeNull();
    await limiter.chargeRows('b', fewRows, 3);
    expect(await limiter.admit('b', fewRows)).toEqual({ limitedBy: 'rows', retryAfterSeconds: 60 });
  });

  it('takes 1 % of a large limit at a time, and asks the database again once it is used', async () => {
    const limit = { requestsPerMinute: 1000, rowsPerMinute: 100_000 };
    expect(await limiter.admit('a', limit)).toBeNull();
    expect((await level()).requests_level).toBeCloseTo(10, 0);
    for (let i = 0; i < 9; i++) expect(await limiter.admit('a', limit)).toBeNull();
    expect((await level()).requests_level).toBeLessThanOrEqual(10);
    expect(await limiter.admit('a', limit)).toBeNull();
    expect((await level()).requests_level).toBeGreaterThan(19);
  });

  it('takes only the whole requests that fit, never a whole batch past the limit', async () => {
    const limit = { requestsPerMinute: 1000, rowsPerMinute: 100_000 };
    // Drained as of a minute from now: nothing drains while the test runs, however slowly a loaded machine runs it
    // (at 1000 a minute, 30 ms between the two takes drained the half request that keeps the second one out).
    await t.db.query("INSERT INTO agent_rate_limits VALUES ('a', 998.5, 0, clock_timestamp() + interval '1 minute')");
    expect(await limiter.admit('a', limit)).toBeNull();
    expect((await level()).requests_level).toBeCloseTo(999.5, 1);
    expect(await limiter.admit('a', limit)).toMatchObject({ limitedBy: 'requests' });
  });

  it('charges rows in batches of 1 % of a large limit', async () => {
    const limit = { requestsPerMinute: 100, rowsPerMinute: 1000 };
    expect(await limiter.admit('a', limit)).toBeNull();
    for (let i = 0; i < 3; i++) await limiter.chargeRows('a', limit, 3);
    expect((await level()).rows_level).toBe(0);
    await limiter.chargeRows('a', limit, 3);
    expect((await level()).rows_level).toBeCloseTo(12, 1);
  });

  it('never lets two brokers admit more than the limit together, and leaves none unused once both refuse', async () => {
    const limit = { requestsPerMinute: 300, rowsPerMinute: 1000 };
    const brokers = [limiter, new RateLimiter(t.db)];
    const started = performance.now();
    let admitted = 0;
    for (;;) {
      const refusals = await Promise.all(brokers.map((broker) => broker.admit('a', limit)));
      admitted += refusals.filter((refused) => refused === null).length;
      if (refusals.every((refused) => refused !== null)) break;
    }
    // The bucket drains while the test runs: that much more may pass.
    const drained = Math.floor((((performance.now() - started) / 1000) * limit.requestsPerMinute) / 60);
    expect(admitted).toBeGreaterThanOrEqual(300);
    expect(admitted).toBeLessThanOrEqual(300 + drained);
  });

  it('keeps the rows it could not charge, and charges them with its next take', async () => {
    const limit = { requestsPerMinute: 100, rowsPerMinute: 100 };
    let down = true;
    const flaky = new RateLimiter({ query: (text, params) => (down ? Promise.reject(new Error('connection lost')) : t.db.query(text, params)) });
    await expect(flaky.chargeRows('a', limit, 7)).rejects.toThrow('connection lost');
    down = false;
    expect(await flaky.admit('a', limit)).toBeNull();
    expect((await level()).rows_level).toBeCloseTo(7, 1);
  });

  it('lets a broker hold no requests once the minute’s rows are spent', async () => {
    const limit = { requestsPerMinute: 1000, rowsPerMinute: 5 };
    expect(await limiter.admit('a', limit)).toBeNull();
    await limiter.chargeRows('a', limit, 6);
    expect(await limiter.admit('a', limit)).toMatchObject({ limitedBy: 'rows' });
  });

  it('never drains below empty: a long quiet spell gives one minute’s allowance, not more', async () => {
    const limit = { requestsPerMinute: 3, rowsPerMinute: 100 };
    expect(await limiter.admit('a', limit)).toBeNull();
    await letTimePass(3600);
    for (let i = 0; i < 3; i++) expect(await limiter.admit('a', limit)).toBeNull();
    expect(await limiter.admit('a', limit)).toMatchObject({ limitedBy: 'requests' });
  });
});
