import { beforeAll, describe, expect, it } from 'vitest';
import { makeDiscreteLaplace } from '../../src/dp/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { WORLD } from '../support/fixtures.ts';
import { projectWith, withBudget } from '../support/project.ts';

const EU_AVG = `{ transactions_aggregate(where: { subject_jurisdiction: { in: ["EU-DE", "EU-FR"] } }, groupBy: [merchant_category], epsilon: 0.5) {
  mechanism replayed rowsPerSubject cost { epsilon delta } budget { epsilonSpent epsilonRemaining epsilonLimit period }
  groups { key { merchant_category } count { value } sum(field: amount) { value } avg(field: amount) { value low high confidence } } } }`;

async function spent(t: TestDatabase, scope = 'agent:analytics-bot'): Promise<number> {
  const { rows } = await t.db.query<{ pure_epsilon: number }>('SELECT pure_epsilon FROM dp_budget WHERE scope = $1', [scope]);
  return Number(rows[0]?.pure_epsilon ?? 0);
}

describe.each(ENGINES)('differentially private aggregates on $engine', ({ create }) => {
  const world = useWorld(create, () => projectWith(withBudget({ epsilon: 20_000, delta: 1e-3, maxEpsilonPerQuery: 2 })));
  let analytics: string;
  beforeAll(async () => {
    analytics = await world.kh.token('analytics-bot');
  });

  it('answers "average amount per merchant category for EU customers, ε = 0.5" with intervals, cost and budget', async () => {
    const before = await spent(world.t);
    const reply = await world.kh.graphql(analytics, EU_AVG);
    expect(reply.status).toBe(200);
    const answer = reply.body.data!.transactions_aggregate;
    expect(answer).toMatchObject({ mechanism: 'LAPLACE', replayed: false, rowsPerSubject: 5, cost: { epsilon: 0.5, delta: 0 } });
    expect(answer.budget.epsilonLimit).toBe(20_000);
    expect(answer.budget.epsilonSpent).toBeCloseTo(before + 0.5, 9);
    // Public domain: every merchant category is reported, the empty ones too.
    expect(answer.groups).toHaveLength(10);
    for (const group of answer.groups) {
      const avg = group.avg;
      expect(avg.confidence).toBe(0.95);
      // The average is the released sum over the released count (no budget of its own), clamped to the catalog's
      // bounds [0, 2000]: at ε = 0.5 over a few rows that ratio mostly lies far outside them, on either side.
      expect(avg.value).toBeCloseTo(Math.min(2000, Math.max(0, group.sum.value / Math.max(1, group.count.value))), 9);
      expect(avg.low).toBeLessThanOrEqual(avg.value);
      expect(avg.high).toBeGreaterThanOrEqual(avg.value);
    }
    const { rows } = await world.t.db.query<{ operation_kind: string; decision: string; privacy_cost: Record<string, unknown>; subject_count: number }>(
      'SELECT operation_kind, decision, privacy_cost, subject_count FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    expect(rows[0]).toMatchObject({ operation_kind: 'dp_aggregate', decision: 'allowed', subject_count: 0, privacy_cost: { epsilon: 0.5, replayed: false } });
  });

  it('replays an identical query at no cost, so averaging repeats gains nothing', async () => {
    const first = (await world.kh.graphql(analytics, EU_AVG)).body.data!.transactions_aggregate;
    const before = await spent(world.t);
    const again = (await world.kh.graphql(analytics, EU_AVG)).body.data!.transactions_aggregate;
    expect(again.replayed).toBe(true);
    expect(again.cost.epsilon).toBe(0);
    expect(again.groups).toEqual(first.groups);
    expect(await spent(world.t)).toBe(before);
  });

  it('refuses what one query may not spend, and grouping by a non-public key without δ', async () => {
    const tooMuch = await world.kh.graphql(analytics, '{ customers_aggregate(epsilon: 3) { groups { count { value } } } }');
    expect(tooMuch.body.errors![0]!.extensions?.code).toBe('PRIVACY_LIMIT_EXCEEDED');
    const noDelta = await world.kh.graphql(analytics, '{ customers_aggregate(groupBy: [city], epsilon: 1) { groups { count { value } } } }');
    expect(noDelta.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
  });

  it('hides groups of a non-public key unless they are large enough (partition selection)', async () => {
    // Every city in the test world holds one customer: with δ = 1e-6 none may be revealed.
    for (let i = 0; i < 20; i++) {
      const reply = await world.kh.graphql(
        analytics,
        `{ customers_aggregate(groupBy: [city], epsilon: 1, delta: 1e-6, where: { segment: { ne: "probe-${i}" } }) { groups { key { city } count { value } } } }`,
      );
      expect(reply.body.data!.customers_aggregate.groups).toEqual([]);
    }
  });

  it('draws noise whose error matches theory: count and sum at ε = 1 (std within ±10% over 2000 queries each)', async () => {
    const trueCount = WORLD.customers.length;
    const trueSum = WORLD.transactions.reduce((total, row) => total + Number(row[2]), 0);
    const countErrors: number[] = [];
    const sumErrors: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const count = await world.kh.graphql(
        analytics,
        `{ customers_aggregate(epsilon: 1, where: { segment: { ne: "c${i}" } }) { groups { count { value } } } }`,
      );
      countErrors.push(count.body.data!.customers_aggregate.groups[0].count.value - trueCount);
      const sum = await world.kh.graphql(
        analytics,
        `{ transactions_aggregate(epsilon: 1, where: { merchant_category: { ne: "s${i}" } }) { groups { sum(field: amount) { value } } } }`,
      );
      sumErrors.push(sum.body.data!.transactions_aggregate.groups[0].sum.value - trueSum);
    }
    const std = (errors: number[]) => Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    // count: each customer is one row (k = 1), so Δ = 1. sum: k = 5 rows of at most 2000.00, in cents.
    const countTheory = Math.sqrt(makeDiscreteLaplace({ sensitivity: 1, epsilon: 1 }).noise.variance);
    const sumTheory = Math.sqrt(makeDiscreteLaplace({ sensitivity: 5 * 200_000, epsilon: 1 }).noise.variance) / 100;
    expect(std(countErrors) / countTheory).toBeGreaterThan(0.9);
    expect(std(countErrors) / countTheory).toBeLessThan(1.1);
    expect(std(sumErrors) / sumTheory).toBeGreaterThan(0.9);
    expect(std(sumErrors) / sumTheory).toBeLessThan(1.1);
  }, 300_000);
});

describe.each(ENGINES)('the budget ledger on $engine', ({ create }) => {
  const world = useWorld(create, () => projectWith(withBudget({ epsilon: 2, maxEpsilonPerQuery: 1 })));

  it('refuses a query that would over-spend with BUDGET_EXHAUSTED, audited, and spends nothing for it', async () => {
    const token = await world.kh.token('analytics-bot');
    const ask = (i: number, epsilon: number) =>
      world.kh.graphql(
        token,
        `{ customers_aggregate(epsilon: ${epsilon}, where: { segment: { ne: "q${i}" } }) { budget { epsilonRemaining } groups { count { value } } } }`,
      );
    expect((await ask(1, 1)).status).toBe(200);
    expect((await ask(2, 0.75)).body.data!.customers_aggregate.budget.epsilonRemaining).toBeCloseTo(0.25, 9);
    const refused = await ask(3, 0.5);
    expect(refused.body.errors![0]!.extensions?.code).toBe('BUDGET_EXHAUSTED');
    expect(refused.body.data ?? null).toBeNull();
    expect(await spent(world.t)).toBeCloseTo(1.75, 9);
    const { rows } = await world.t.db.query<{ decision: string; code: string }>('SELECT decision, code FROM audit_log ORDER BY seq DESC LIMIT 1');
    expect(rows[0]).toEqual({ decision: 'denied', code: 'BUDGET_EXHAUSTED' });
    expect((await ask(4, 0.25)).status).toBe(200);
  });
});
