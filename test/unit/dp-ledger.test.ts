/**
 * The budget ledger in the database: which rows a spend charges (the agent's and the dataset's, locked in one
 * order), the exact sums it adds in numeric, the limits it keeps current, and the answers it replays.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PrivacyConfig } from '../../src/config/index.ts';
import { epsilonAt } from '../../src/dp/accountant.ts';
import { BudgetExhaustedError, BudgetLedger, budgetPeriod, composed, stateOf } from '../../src/dp/ledger.ts';
import { migrate } from '../../src/sql/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const limits = { maxEpsilonPerQuery: 1, maxDeltaPerQuery: 1e-6, minEpsilonPerQuery: 0.001, minDeltaPerQuery: 1e-12 };
const privacy = (agentEpsilon = 1): PrivacyConfig => ({
  period: 'month',
  dataset: { epsilon: 10, delta: 1e-5 },
  agents: { 'analytics-bot': { epsilon: agentEpsilon, delta: 1e-6, ...limits } },
});

describe('budget periods and refusals', () => {
  it('names the period a spend falls in, in UTC', () => {
    const at = new Date('2026-12-31T23:30:00-02:00');
    expect(budgetPeriod('day', at)).toBe('2027-01-01');
    expect(budgetPeriod('month', at)).toBe('2027-01');
    expect(budgetPeriod('year', at)).toBe('2027');
    expect(budgetPeriod('month')).toBe(new Date().toISOString().slice(0, 7));
    expect(new BudgetLedger(privacy(), 'demo').period(at)).toBe('2027-01');
  });

  it('says whose budget cannot cover a spend, and how much of it is gone', () => {
    const state = { scope: 'agent:a', period: '2026-12', epsilonLimit: 1, deltaLimit: 0, epsilonSpent: 0.98765, deltaSpent: 0, queries: 3 };
    const agent = new BudgetExhaustedError('agent:a', 0.5, state);
    expect(agent.message).toBe(
      'the agent privacy budget for 2026-12 cannot cover ε=0.5 (spent 0.98765 of 1); a request asking ε ≤ 0.01235 in all (with δ = 0) still fits until it resets on 2027-01-01 (UTC)',
    );
    expect(agent).toMatchObject({ name: 'BudgetExhaustedError', scope: 'agent:a', epsilonRemaining: 0.01235, resetsOn: '2027-01-01' });
    expect(new BudgetExhaustedError('dataset:demo', 0.5, state).message).toMatch(/^the dataset privacy budget for 2026-12 cannot cover/);
    expect(new BudgetExhaustedError('agent:a', 0.5, { ...state, epsilonSpent: 1 }).message).toContain(
      '; no further ε fits until it resets on 2027-01-01 (UTC)',
    );
  });
});

describe('the budget ledger', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t.drop());
  beforeEach(() => t.db.exec('DELETE FROM dp_budget; DELETE FROM dp_answers'));

  const row = async (scope: string) =>
    (await t.db.query<Record<string, unknown>>('SELECT * FROM dp_budget WHERE scope = $1', [scope])).rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && k !== 'scope' && k !== 'period' ? Number(v) : v])),
    )[0];

  it('locks the agent’s and the dataset’s rows, creating them with their limits and keeping the limits current', async () => {
    const ledger = new BudgetLedger(privacy(), 'demo');
    expect(ledger.agentBudget('analytics-bot')).toEqual({ epsilon: 1, delta: 1e-6, ...limits });
    expect(ledger.agentBudget('support-bot')).toBeUndefined();
    const locked = await t.db.transaction((tx) => ledger.lock(tx, 'analytics-bot', '2026-12'));
    expect(locked.map((r) => [r.scope, r.period, Number(r.epsilon_limit), Number(r.delta_limit), Number(r.queries)])).toEqual([
      ['agent:analytics-bot', '2026-12', 1, 1e-6, 0],
      ['dataset:demo', '2026-12', 10, 1e-5, 0],
    ]);
    await t.db.transaction((tx) => new BudgetLedger(privacy(2), 'demo').lock(tx, 'analytics-bot', '2026-12'));
    expect(await row('agent:analytics-bot')).toMatchObject({ epsilon_limit: 2, delta_limit: 1e-6 });
    expect(await t.db.transaction((tx) => ledger.lock(tx, 'support-bot', '2026-12'))).toEqual([]);
    expect((await t.db.query('SELECT * FROM dp_budget WHERE period = $1', ['2026-12'])).rows).toHaveLength(2);
  });

  it('adds a request’s costs to every locked row, each kind to its own sum, exactly, and counts one query', async () => {
    const ledger = new BudgetLedger(privacy(), 'demo');
    await t.db.transaction(async (tx) => {
      const locked = await ledger.lock(tx, 'analytics-bot', '2026-12');
      await ledger.spendTotal(tx, locked, [
        { epsilon: 0.1, delta: 0 },
        { epsilon: 0.2, delta: 0 },
        { epsilon: 0.3, delta: 1e-7 },
        { rho: 0.01 },
        { rho: 0.02 },
      ]);
    });
    for (const scope of ['agent:analytics-bot', 'dataset:demo']) {
      // numeric sums 0.1 + 0.2 exactly (0.3, not 0.30000000000000004), and ε²/2 per pure release (0.005 + 0.02).
      expect(await row(scope)).toMatchObject({ pure_epsilon: 0.3, pure_rho: 0.025, approx_epsilon: 0.3, approx_delta: 1e-7, rho: 0.03, queries: 1 });
    }
    // A release that costs nothing (ε = 0) is charged as nothing, and counted.
    await t.db.transaction(async (tx) => ledger.spendTotal(tx, await ledger.lock(tx, 'analytics-bot', '2026-12'), [{ epsilon: 0, delta: 0 }]));
    expect(await row('dataset:demo')).toMatchObject({ pure_epsilon: 0.3, queries: 2 });
  });

  it('refuses a cost that is not a finite number ≥ 0, and charges nothing', async () => {
    const ledger = new BudgetLedger(privacy(), 'demo');
    for (const epsilon of [-0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        t.db.transaction(async (tx) => ledger.spendTotal(tx, await ledger.lock(tx, 'analytics-bot', '2026-12'), [{ epsilon, delta: 0 }])),
      ).rejects.toThrow(`a privacy cost must be a finite number ≥ 0, got ${epsilon}`);
    }
    expect(await row('agent:analytics-bot')).toBeUndefined();
  });

  it('reports a row’s state: ε certified at the limit’s δ, δ spent and the queries', async () => {
    const ledger = new BudgetLedger(privacy(), 'demo');
    const locked = await t.db.transaction(async (tx) => {
      const rows = await ledger.lock(tx, 'analytics-bot', '2026-12');
      await ledger.spendTotal(tx, rows, [
        { epsilon: 0.5, delta: 0 },
        { epsilon: 0.25, delta: 1e-7 },
      ]);
      return ledger.lock(tx, 'analytics-bot', '2026-12');
    });
    const [agent] = ledger.states(locked);
    expect(agent).toEqual({
      scope: 'agent:analytics-bot',
      period: '2026-12',
      epsilonLimit: locked[0]!.epsilon_limit,
      deltaLimit: locked[0]!.delta_limit,
      epsilonSpent: epsilonAt(composed(locked[0]!), locked[0]!.delta_limit),
      deltaSpent: 1e-7,
      queries: 1,
    });
    expect(agent!.epsilonSpent).toBeGreaterThanOrEqual(0.75 - 1e-12);
    expect(composed(locked[0]!)).toEqual({ pureEpsilon: 0.5, pureRho: 0.125, approxEpsilon: 0.25, approxDelta: 1e-7, rho: 0 });
    expect(stateOf(locked[0]!, composed(locked[0]!), 7).queries).toBe(7);
  });

  it('replays a stored answer only to the same agent, period, query and data version', async () => {
    const ledger = new BudgetLedger(privacy(), 'demo');
    await t.db.transaction((tx) => ledger.storeAnswer(tx, 'analytics-bot', '2026-12', 'q1', 3, { value: 42 }, [{ epsilon: 0.1, delta: 0 }]));
    const find = (agent: string, period: string, key: string, version: number) => t.db.transaction((tx) => ledger.findAnswer(tx, agent, period, key, version));
    expect(await find('analytics-bot', '2026-12', 'q1', 3)).toEqual({ value: 42 });
    const others: Array<[string, string, string, number]> = [
      ['fraud-bot', '2026-12', 'q1', 3],
      ['analytics-bot', '2027-01', 'q1', 3],
      ['analytics-bot', '2026-12', 'q2', 3],
      ['analytics-bot', '2026-12', 'q1', 4],
    ];
    for (const other of others) expect(await find(...other)).toBeNull();
  });
});
