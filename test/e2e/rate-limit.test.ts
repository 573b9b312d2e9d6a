import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError, type Db, createPgDb } from '../../src/sql/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';

// support-bot may make 3 requests a minute, fraud-bot may receive 5 rows a minute; kyc-bot keeps the defaults.
const LIMITS = {
  'schema/agents.yaml': (text: string) =>
    text
      .replace(/(support-bot:[\s\S]*?)rateLimit: \{[^}]*\}/, '$1rateLimit: { requestsPerMinute: 3 }')
      .replace(/(fraud-bot:[\s\S]*?)rateLimit: \{[^}]*\}/, '$1rateLimit: { rowsPerMinute: 5, requestsPerMinute: 1000 }'),
};

const VIEWER = '{ viewer { agent } }';
const TWO_TRANSACTIONS = '{ transactions(limit: 2) { id } }';

interface Reply {
  status: number;
  retryAfter: string | null;
  code: string | undefined;
  message: string | undefined;
  data: unknown;
}

/** POSTs a query to `kh` as the holder of `token`, keeping the headers TestBroker.graphql leaves out. */
async function post(kh: TestBroker, token: string, query: string): Promise<Reply> {
  const response = await kh.broker.fetch(
    new Request('http://keyhole.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    }),
  );
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  const error = body.errors?.[0];
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: error?.extensions?.code,
    message: error?.message,
    data: body.data ?? null,
  };
}

/**
 * What `seconds` passing does to an agent's buckets. The limiter's clock is the database's, which a test cannot
 * move; moving the buckets' last drain back is the same thing to them.
 */
const letTimePass = (db: Db, agent: string, seconds: number) =>
  db.query('UPDATE agent_rate_limits SET drained_at = drained_at - make_interval(secs => $2) WHERE agent_id = $1', [agent, seconds]);

const lastRecord = async (db: Db) =>
  (
    await db.query<{ actor_id: string; decision: string; code: string; reason: string; row_count: number }>(
      'SELECT actor_id, decision, code, reason, row_count FROM audit_log ORDER BY seq DESC LIMIT 1',
    )
  ).rows[0]!;

describe.each(ENGINES)('per-agent rate limits on $engine', ({ engine, create }) => {
  let t: TestDatabase;
  let root: string;
  let kh: TestBroker;
  /** A second broker on the same database, with its own connections (PostgreSQL) and the same keys. */
  let other: TestBroker;
  let support: string;
  let fraud: string;
  let kyc: string;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    root = await projectWith(LIMITS);
    kh = await startTestBroker(t.db, { root });
    const otherDb = engine === 'postgres' ? createPgDb({ connectionString: t.url!, max: 8 }) : t.db;
    other = await startTestBroker(otherDb, { root, dataDir: kh.dataDir });
    [support, fraud, kyc] = await Promise.all([kh.token('support-bot'), kh.token('fraud-bot'), kh.token('kyc-bot')]);
  });
  afterEach(async () => {
    // Emptying the table starts each test afresh: under 200 a minute a broker takes support-bot's requests one at a
    // time and charges fraud-bot's rows after every answer. The few fraud-bot requests a broker takes ahead (1 % of
    // 1000) may outlive a test; its rows test refuses all the same, since spent rows drop them.
    await t.db.query('DELETE FROM agent_rate_limits');
  });
  afterAll(async () => {
    if (engine === 'postgres') await other?.broker.db.close();
    await other?.close();
    await kh?.close();
    await t?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('lets N requests a minute pass and refuses the N+1st: 429, Retry-After, RATE_LIMITED, audited', async () => {
    for (let i = 0; i < 3; i++) expect((await post(kh, support, VIEWER)).status).toBe(200);
    const refused = await post(kh, support, VIEWER);
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', data: null });
    // A request fits again when one has drained out: 60 s / 3, less the moments the requests took.
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(18);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(20);
    expect(refused.message).toMatch(/3 requests per minute; retry in \d+ s/);
    expect(await lastRecord(t.db)).toMatchObject({ actor_id: 'support-bot', decision: 'denied', code: 'RATE_LIMITED', row_count: 0 });
    expect((await lastRecord(t.db)).reason).toBe(refused.message);
  });

  it('counts a refused request for nothing, and admits the next one once Retry-After has passed', async () => {
    for (let i = 0; i < 3; i++) await post(kh, support, VIEWER);
    const { retryAfter } = await post(kh, support, VIEWER);
    await letTimePass(t.db, 'support-bot', Number(retryAfter) - 2);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
    await letTimePass(t.db, 'support-bot', 2);
    expect((await post(kh, support, VIEWER)).status).toBe(200);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
  });

  it('gives a whole allowance again a minute later', async () => {
    for (let i = 0; i < 3; i++) await post(kh, support, VIEWER);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
    await letTimePass(t.db, 'support-bot', 60);
    for (let i = 0; i < 3; i++) expect((await post(kh, support, VIEWER)).status).toBe(200);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
  });

  it('counts rows across requests, and refuses the request after the minute’s rows are spent', async () => {
    // 2 + 2 rows leave room for one: the third request is answered (its 2 rows overshoot), the fourth refused.
    for (let i = 0; i < 3; i++) {
      const reply = await post(kh, fraud, TWO_TRANSACTIONS);
      expect(reply.status).toBe(200);
      expect((reply.data as { transactions: unknown[] }).transactions).toHaveLength(2);
    }
    const refused = await post(kh, fraud, TWO_TRANSACTIONS);
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', data: null });
    expect(refused.message).toMatch(/5 rows per minute/);
    // 6 rows in a bucket of 5 drain to room for one more in 2 rows' time: 2 × 60 s / 5.
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(22);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(24);
    expect(await lastRecord(t.db)).toMatchObject({ actor_id: 'fraud-bot', code: 'RATE_LIMITED' });
    // Answers without rows cost no rows: the viewer is refused all the same once they are spent.
    expect((await post(kh, fraud, VIEWER)).status).toBe(429);
  });

  it('limits each agent on its own: another agent is served while one is refused', async () => {
    for (let i = 0; i < 3; i++) await post(kh, support, VIEWER);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
    expect((await post(kh, kyc, VIEWER)).status).toBe(200);
    expect((await post(kh, fraud, TWO_TRANSACTIONS)).status).toBe(200);
  });

  it('shares one count between two brokers on one database', async () => {
    expect((await post(kh, support, VIEWER)).status).toBe(200);
    expect((await post(other, support, VIEWER)).status).toBe(200);
    expect((await post(kh, support, VIEWER)).status).toBe(200);
    expect((await post(other, support, VIEWER)).status).toBe(429);
    expect((await post(kh, support, VIEWER)).status).toBe(429);
  });

  it('admits exactly N of many concurrent requests spread over both brokers, and records every refusal', async () => {
    const refusals = async () =>
      (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE code = 'RATE_LIMITED' AND actor_id = 'support-bot'")).rows[0]!.n;
    const before = await refusals();
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i % 2 ? other : kh, support, VIEWER)));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(3);
    expect(replies.filter((reply) => reply.status === 429)).toHaveLength(9);
    expect((await refusals()) - before).toBe(9);
  });
});

/**
 * The database, with the rate limiter's statements failing as if the connection were lost: all of them, or only the
 * charges of rows (`rowsOnly`: taking no request). `sent` notes the statements that went through.
 */
function limiterUnreachable(db: Db, rowsOnly = false): Db & { sent: string[] } {
  const sent: string[] = [];
  return {
    ...db,
    sent,
    query: (text, params) => {
      if (text.includes('rate_limit_take') && (!rowsOnly || params?.[3] === 0)) {
        return Promise.reject(new DatabaseError('connection terminated unexpectedly', { sqlState: '08006' }));
      }
      sent.push(text);
      return db.query(text, params);
    },
  };
}

describe.each(ENGINES)('a rate limiter that cannot reach its table on $engine', ({ create }) => {
  let t: TestDatabase;
  let db: ReturnType<typeof limiterUnreachable>;
  let kh: TestBroker;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    db = limiterUnreachable(t.db);
    kh = await startTestBroker(db);
  });
  afterAll(async () => {
    await kh?.close();
    await t?.drop();
  });

  it('refuses the request (fails closed) with 503 DATABASE_UNAVAILABLE, reads nothing, and records the failure', async () => {
    const token = await kh.token('support-bot');
    db.sent.length = 0;
    const reply = await post(kh, token, '{ customers(limit: 2) { id } }');
    expect(reply).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', data: null });
    expect(db.sent.filter((text) => text.includes('"customers"'))).toEqual([]);
    expect(reply.message).not.toMatch(/connection|rate_limit_take/);
    expect(await lastRecord(t.db)).toMatchObject({ actor_id: 'support-bot', decision: 'error', code: 'DATABASE_UNAVAILABLE', row_count: 0 });
  });

  it('never limits the health routes or the officers’ API', async () => {
    expect((await kh.broker.fetch(new Request('http://keyhole.test/healthz'))).status).toBe(200);
    const officer = await kh.broker.fetch(
      new Request('http://keyhole.test/officer/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await kh.token('dpo')}` },
        body: JSON.stringify({ query: '{ accessCount }' }),
      }),
    );
    expect(officer.status).toBe(200);
  });

  it('answers an admitted request whose rows cannot be charged: it is recorded, and the next admission decides', async () => {
    const chargesFail = await startTestBroker(limiterUnreachable(t.db, true), { dataDir: kh.dataDir });
    try {
      const reply = await post(chargesFail, await chargesFail.token('support-bot'), '{ customers(limit: 2) { id } }');
      expect(reply).toMatchObject({ status: 200, data: { customers: [{ id: expect.any(Number) }, { id: expect.any(Number) }] } });
      expect(await lastRecord(t.db)).toMatchObject({ actor_id: 'support-bot', decision: 'allowed', row_count: 2 });
    } finally {
      await chargesFail.close();
    }
  });
});
