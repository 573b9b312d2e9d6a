import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { projectWith, withBudget } from '../support/project.ts';

const SPREAD = `{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.9) {
  replayed cost { epsilon delta }
  groups { key { merchant_category } variance(field: amount) { value low high confidence } stddev(field: amount) { value low high }
           sum(field: amount) { value } avg(field: amount) { value } } } }`;

async function ledger(t: TestDatabase) {
  const { rows } = await t.db.query<{ pure_epsilon: string; pure_rho: string; queries: number }>(
    "SELECT pure_epsilon, pure_rho, queries FROM dp_budget WHERE scope = 'agent:analytics-bot'",
  );
  return { epsilon: Number(rows[0]?.pure_epsilon ?? 0), rho: Number(rows[0]?.pure_rho ?? 0), queries: Number(rows[0]?.queries ?? 0) };
}

describe.each(ENGINES)('variance and stddev through GraphQL on $engine', ({ create }) => {
  const world = useWorld(create, () => projectWith(withBudget({ epsilon: 100, delta: 1e-3, maxEpsilonPerQuery: 2 })));
  let analytics: string;
  beforeAll(async () => {
    analytics = await world.kh.token('analytics-bot');
  });

  it('answers within the bounds and charges the ledger for its three primitives (count, sum, sum of squares), shared with sum and avg', async () => {
    const before = await ledger(world.t);
    const reply = await world.kh.graphql(analytics, SPREAD);
    expect(reply.body.errors).toBeUndefined();
    const answer = reply.body.data!.transactions_aggregate;
    expect(answer).toMatchObject({ replayed: false, cost: { epsilon: 0.9, delta: 0 } });
    for (const group of answer.groups) {
      // amount is bounded to [0, 2000]: a variance in [0, 1000²], a stddev in [0, 1000].
      expect(group.variance.confidence).toBe(0.95);
      expect(group.variance.low).toBeGreaterThanOrEqual(0);
      expect(group.variance.high).toBeLessThanOrEqual(1000 ** 2);
      expect(group.variance.low).toBeLessThanOrEqual(group.variance.value);
      expect(group.variance.value).toBeLessThanOrEqual(group.variance.high);
      expect(group.stddev.value).toBeCloseTo(Math.sqrt(group.variance.value), 6);
      expect(group.stddev.high).toBeCloseTo(Math.sqrt(group.variance.high), 6);
    }
    const after = await ledger(world.t);
    // Three pure releases at ε/3 each: Σε = 0.9, and their zCDP view Σε²/2 = 3·(0.3)²/2 (one release of 0.9 would be 0.405).
    expect(after.epsilon - before.epsilon).toBeCloseTo(0.9, 9);
    expect(after.rho - before.rho).toBeCloseTo((3 * 0.3 ** 2) / 2, 9);
    expect(after.queries - before.queries).toBe(1);
    const { rows } = await world.t.db.query<{ privacy_cost: Record<string, unknown> }>('SELECT privacy_cost FROM audit_log ORDER BY seq DESC LIMIT 1');
    expect(rows[0]!.privacy_cost).toMatchObject({ epsilon: 0.9, replayed: false });
  });

  it('replays an identical query at no cost', async () => {
    const first = (await world.kh.graphql(analytics, SPREAD)).body.data!.transactions_aggregate;
    const before = await ledger(world.t);
    const again = (await world.kh.graphql(analytics, SPREAD)).body.data!.transactions_aggregate;
    expect(again).toMatchObject({ replayed: true, cost: { epsilon: 0 } });
    expect(again.groups).toEqual(first.groups);
    expect(await ledger(world.t)).toEqual(before);
  });
});
