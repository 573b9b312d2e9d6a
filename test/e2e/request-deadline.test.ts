import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

// Every request's work is bounded (issue 18): a deadline covers its SQL and CPU, the refusal is recorded, and the
// heaviest request a view accepts never stalls another agent or /healthz.

const HEAVY_FIELDS = '{ groups { key { merchant_category } count { value } sum(field: amount) { value } quantile(field: amount, q: 0.5) { value low high } } }';

describe.each(ENGINES)('a request past its deadline on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db, { env: { KEYHOLE_REQUEST_DEADLINE_MS: '1' } });
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('answers 504 DEADLINE_EXCEEDED with no data, records the refusal, and charges no budget', async () => {
    const token = await kh.token('analytics-bot');
    const reply = await kh.graphql(token, `{ transactions_aggregate(epsilon: 1, groupBy: [merchant_category]) ${HEAVY_FIELDS} }`);
    expect(reply.status).toBe(504);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.body.errors!.map((e) => e.extensions!.code)).toEqual(['DEADLINE_EXCEEDED']);
    const { rows } = await t.db.query<{ decision: string; code: string; privacy_cost: unknown }>(
      "SELECT decision, code, privacy_cost FROM audit_log WHERE actor_id = 'analytics-bot' ORDER BY seq",
    );
    expect(rows).toEqual([{ decision: 'denied', code: 'DEADLINE_EXCEEDED', privacy_cost: null }]);
    const spent = await t.db.query<{ e: string | null }>("SELECT max(pure_epsilon)::text AS e FROM dp_budget WHERE scope = 'agent:analytics-bot'");
    expect(Number(spent.rows[0]?.e ?? 0)).toBe(0);
  });
});

describe('the heaviest accepted request on PostgreSQL', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await seedDemo(t.db, { scale: 0.5 });
    kh = await startTestBroker(t.db);
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('leaves another agent and /healthz answering while it runs', async () => {
    const [analytics, support] = await Promise.all([kh.token('analytics-bot'), kh.token('support-bot')]);
    // As many aliases as the limits allow, each a grouped DP aggregate with quantiles over every transaction, at
    // the smallest ε the policy accepts (the largest noise scale the samplers must handle).
    const aliases = Array.from(
      { length: 15 },
      (_, i) => `a${i}: transactions_aggregate(epsilon: 0.001, groupBy: [merchant_category], where: { amount: { gt: ${i} } }) ${HEAVY_FIELDS}`,
    );
    const started = performance.now();
    let heavyDone = 0;
    const heavy = kh.graphql(analytics, `{ ${aliases.join(' ')} }`).then((reply) => {
      heavyDone = performance.now() - started;
      return reply;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const health = await kh.broker.fetch(new Request('http://keyhole.test/healthz'));
    const healthAt = performance.now() - started;
    const other = await kh.graphql(support, '{ customers(limit: 5) { id full_name } }');
    const otherAt = performance.now() - started;
    const reply = await heavy;
    expect(health.status).toBe(200);
    expect(other.status).toBe(200);
    expect(other.body.data!.customers).toHaveLength(5);
    // Accepted and answered within the deadline, or refused by it: never a hang, never an internal error.
    expect([200, 504]).toContain(reply.status);
    expect(heavyDone).toBeLessThan(15_000);
    // The others were served while the heavy request still ran, not after it.
    expect(healthAt).toBeLessThan(heavyDone);
    expect(otherAt).toBeLessThan(heavyDone);
  });
});
