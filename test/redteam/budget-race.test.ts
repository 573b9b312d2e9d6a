import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ComposedCost, epsilonAt } from '../../src/dp/index.ts';
import { createPgDb } from '../../src/sql/index.ts';
import { type GraphQLReply, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { projectWith, withBudget } from '../support/project.ts';
import { useRedTeam } from './support.ts';

const BUDGET = 10;

/**
 * An agent racing its own privacy budget: many DP releases at once, on one broker and across two brokers sharing
 * one PostgreSQL ledger. The budget is never exceeded, every request over it is refused BUDGET_EXHAUSTED and
 * recorded, every allowed one records what it cost, and other agents are served on both brokers meanwhile.
 */
describe('red team: privacy budget races on PostgreSQL', () => {
  const rt = useRedTeam({
    create: createPostgresTestDatabase,
    root: () => projectWith(withBudget({ epsilon: BUDGET, delta: 1e-5, maxEpsilonPerQuery: 2, maxDeltaPerQuery: 1e-6 }, { epsilon: 1e6, delta: 1e-3 })),
  });
  let second: TestBroker;
  const tokens: Array<string> = [];

  beforeAll(async () => {
    second = await startTestBroker(createPgDb({ connectionString: rt.t.url!, max: 8 }), { root: rt.root!, dataDir: rt.kh.dataDir });
    tokens.push(await rt.token('analytics-bot'), await second.token('analytics-bot'));
  });
  afterAll(async () => {
    await second?.broker.db.close();
    await second?.close();
  });
  beforeEach(async () => {
    // Each race starts from an untouched budget (and no answers to replay).
    await rt.t.db.exec('DELETE FROM dp_budget; DELETE FROM dp_answers;');
  });

  const brokers = () => [rt.kh, second] as const;

  /** What the ledger holds for each scope: ε spent (composed at the scope's δ limit) and the limit. */
  async function ledger() {
    const { rows } = await rt.t.db.query<Record<string, number> & { scope: string }>('SELECT * FROM dp_budget');
    return rows.map((r) => {
      const total: ComposedCost = {
        pureEpsilon: Number(r.pure_epsilon),
        pureRho: Number(r.pure_rho),
        approxEpsilon: Number(r.approx_epsilon),
        approxDelta: Number(r.approx_delta),
        rho: Number(r.rho),
      };
      return {
        scope: r.scope,
        spent: epsilonAt(total, Number(r.delta_limit)),
        limit: Number(r.epsilon_limit),
        delta: total.approxDelta,
        deltaLimit: Number(r.delta_limit),
      };
    });
  }

  async function expectWithinBudget() {
    const scopes = await ledger();
    expect(scopes.map((s) => s.scope).sort()).toEqual(['agent:analytics-bot', 'dataset:demo-bank']);
    for (const scope of scopes) {
      expect(scope.spent, scope.scope).toBeLessThanOrEqual(scope.limit + 1e-9);
      expect(scope.delta, scope.scope).toBeLessThanOrEqual(scope.deltaLimit);
    }
    return scopes.find((s) => s.scope === 'agent:analytics-bot')!.spent;
  }

  /**
   * Fires `queries` at once, the i-th on broker i % `spread`, with a support-bot read on each broker alongside; checks
   * each answer is served or refused BUDGET_EXHAUSTED, its record says which, and the bystanders were served.
   */
  async function race(queries: string[], spread: 1 | 2): Promise<GraphQLReply[]> {
    const support = await Promise.all(brokers().map((kh) => kh.token('support-bot')));
    const bystanders = brokers()
      .slice(0, spread)
      .map((kh, i) => kh.graphql(support[i]!, '{ customers(limit: 2, orderBy: [{ field: id }]) { id } }'));
    const replies = await Promise.all(queries.map((query, i) => brokers()[i % spread]!.graphql(tokens[i % spread]!, query)));
    for (const bystander of await Promise.all(bystanders))
      expect(bystander.body).toEqual({ data: { customers: [{ id: 1 }, { id: 2 }] }, extensions: expect.anything() });
    for (const reply of replies) {
      const code = reply.status === 200 ? null : reply.body.errors?.[0]?.extensions?.code;
      expect([200, 403], JSON.stringify(reply.body)).toContain(reply.status);
      if (reply.status === 403) expect(code).toBe('BUDGET_EXHAUSTED');
      const records = await rt.audit(reply.requestId!);
      expect(records, reply.requestId).toEqual([expect.objectContaining({ decision: code ? 'denied' : 'allowed', code })]);
      if (!code) expect(reply.body.data).not.toBeNull();
      else expect(reply.body.data ?? null).toBeNull();
    }
    await rt.bystanderServed('fraud-bot');
    return replies;
  }

  const allowed = (replies: GraphQLReply[]) => replies.filter((r) => r.status === 200).length;
  const costOf = async (replies: GraphQLReply[]) => {
    const ids = replies.filter((r) => r.status === 200).map((r) => r.requestId!);
    const { rows } = await rt.t.db.query<{ privacy_cost: { epsilon?: number } | null }>('SELECT privacy_cost FROM audit_log WHERE request_id = ANY($1)', [ids]);
    return rows;
  };

  it('40 releases of ε = 1 at once on one broker: exactly ten are answered', async () => {
    const replies = await race(
      Array.from({ length: 40 }, (_, i) => `{ customers_aggregate(epsilon: 1, where: { segment: { ne: "a${i}" } }) { groups { count { value } } } }`),
      1,
    );
    expect(allowed(replies)).toBe(BUDGET);
    expect(await expectWithinBudget()).toBeCloseTo(BUDGET, 9);
    expect(await costOf(replies)).toHaveLength(BUDGET);
  });

  it('30 requests of three releases each (1.5 ε) across two brokers: six are answered, each charged its sum', async () => {
    const three = (i: number) =>
      `{ c: customers_aggregate(epsilon: 0.5, where: { segment: { ne: "b${i}" } }) { groups { count { value } } }
         t: transactions_aggregate(epsilon: 0.5, where: { merchant_category: { ne: "b${i}" } }) { groups { count { value } } }
         a: accounts_aggregate(epsilon: 0.5, where: { kind: { ne: "b${i}" } }) { groups { count { value } } } }`;
    const replies = await race(
      Array.from({ length: 30 }, (_, i) => three(i)),
      2,
    );
    expect(allowed(replies)).toBe(6);
    expect(await expectWithinBudget()).toBeCloseTo(9, 9);
  });

  it('Laplace and Gaussian releases racing across two brokers never compose past the budget at its δ', async () => {
    const mixed = (i: number) =>
      i % 2 === 0
        ? `{ customers_aggregate(epsilon: 1, where: { segment: { ne: "c${i}" } }) { groups { count { value } } } }`
        : `{ accounts_aggregate(epsilon: 1, delta: 1e-7, mechanism: GAUSSIAN, where: { kind: { ne: "c${i}" } }) { groups { count { value } } } }`;
    const replies = await race(
      Array.from({ length: 40 }, (_, i) => mixed(i)),
      2,
    );
    expect(allowed(replies)).toBeGreaterThan(0);
    // The race reached the budget: some were refused, and what was spent is within it.
    expect(replies.length - allowed(replies)).toBeGreaterThan(0);
    expect(await expectWithinBudget()).toBeGreaterThan(BUDGET / 2);
  });

  it('the same question asked 20 times at once across two brokers: every distinct answer was paid for', async () => {
    const query = '{ customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" } }) { groups { count { value } } } }';
    const replies = await race(Array(20).fill(query), 2);
    const answers = new Set(replies.filter((r) => r.status === 200).map((r) => JSON.stringify(r.body.data)));
    expect(answers.size).toBeGreaterThan(0);
    // Averaging fresh noise is what a replay prevents: k different noisy answers must have cost k releases.
    expect(await expectWithinBudget()).toBeGreaterThanOrEqual(answers.size - 1e-9);
  });
});
