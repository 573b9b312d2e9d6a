import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PrivacyConfig } from '../../src/config/index.ts';
import { periodResetsOn } from '../../src/dp/budget-figures.ts';
import { BudgetExhaustedError, BudgetLedger } from '../../src/dp/ledger.ts';
import { existingPrivacySpend, type Release, RequestPrivacySpend, requestPrivacySpend } from '../../src/dp/request-spend.ts';
import { migrate } from '../../src/sql/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const privacy: PrivacyConfig = {
  period: 'month',
  dataset: { epsilon: 10, delta: 1e-5 },
  agents: {
    'analytics-bot': { epsilon: 1, delta: 1e-6, maxEpsilonPerQuery: 1, maxDeltaPerQuery: 1e-6, minEpsilonPerQuery: 0.001, minDeltaPerQuery: 1e-12 },
  },
};

/** A release of a count with the discrete Laplace at this ε, unless `changes` say otherwise. */
const release = (epsilon: number, changes: Partial<Release> = {}): Release => ({
  field: `count_${epsilon}`,
  table: 'transactions',
  mechanism: 'discrete-laplace',
  epsilon,
  delta: 0,
  rho: null,
  costs: [{ epsilon, delta: 0 }],
  replayed: false,
  ...changes,
});

describe('one request composes its privacy releases and charges them once', () => {
  let t: TestDatabase;
  let ledger: BudgetLedger;
  const spent = async () =>
    (
      await t.db.query<{ scope: string; pure_epsilon: number; approx_delta: number; queries: number }>(
        'SELECT scope, pure_epsilon::float8 AS pure_epsilon, approx_delta::float8 AS approx_delta, queries FROM dp_budget ORDER BY scope',
      )
    ).rows;
  /** Runs one request's releases in a transaction and commits its spend, as the audit plugin does. */
  const request = (releases: Release[]) =>
    t.db.transaction(async (tx) => {
      const spend = new RequestPrivacySpend(ledger, 'analytics-bot');
      for (const r of releases) await spend.charge(tx, r);
      await spend.commit(tx);
      return spend;
    });

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    ledger = new BudgetLedger(privacy, 'demo');
  });
  afterAll(() => t.drop());
  beforeEach(() => t.db.exec('DELETE FROM dp_budget; DELETE FROM dp_answers'));

  it('charges the total of every release to the agent and the dataset, as one query each', async () => {
    const spend = await request([release(0.25), release(0.5, { queryKey: 'q1', answer: { value: 42, dataVersion: 3 } })]);
    expect(await spent()).toEqual([
      { scope: 'agent:analytics-bot', pure_epsilon: 0.75, approx_delta: 0, queries: 1 },
      { scope: 'dataset:demo', pure_epsilon: 0.75, approx_delta: 0, queries: 1 },
    ]);
    expect(await ledger.findAnswer(t.db, 'analytics-bot', spend.period, 'q1', 3)).toBe(42);
    expect(spend.auditCost()).toEqual({
      mechanism: 'discrete-laplace',
      replayed: false,
      epsilon: 0.75,
      delta: 0,
      rho: null,
      releases: [
        { field: 'count_0.25', table: 'transactions', mechanism: 'discrete-laplace', epsilon: 0.25, delta: 0, rho: null, replayed: false },
        { field: 'count_0.5', table: 'transactions', mechanism: 'discrete-laplace', epsilon: 0.5, delta: 0, rho: null, replayed: false, queryKey: 'q1' },
      ],
    });
  });

  it('replays an answer free even when the budget is spent, and stores what each charged answer cost', async () => {
    await request([release(1)]);
    // A replay carries the cost it was first charged; it must not count against the exhausted budget.
    const replay = await request([release(1, { replayed: true, queryKey: 'q0' })]);
    expect(replay.auditCost()).toMatchObject({ replayed: true, epsilon: 0, releases: [{ epsilon: 0, delta: 0, rho: null, replayed: true, queryKey: 'q0' }] });
    // The budgets a replay reports are the spent ones, as they stand: nothing added for it.
    const states = await t.db.transaction((tx) => new RequestPrivacySpend(ledger, 'analytics-bot').charge(tx, release(1, { replayed: true, queryKey: 'q0' })));
    expect(states.map(({ scope, epsilonSpent, queries }) => ({ scope, epsilonSpent, queries }))).toEqual([
      { scope: 'agent:analytics-bot', epsilonSpent: 1, queries: 1 },
      { scope: 'dataset:demo', epsilonSpent: 1, queries: 1 },
    ]);
    expect(await spent()).toMatchObject([
      { pure_epsilon: 1, queries: 1 },
      { pure_epsilon: 1, queries: 1 },
    ]);
    await t.db.exec('DELETE FROM dp_budget');
    await request([
      release(0.5, { mechanism: 'discrete-gaussian', rho: 0.005, costs: [{ rho: 0.005 }], queryKey: 'q2', answer: { value: 7, dataVersion: 1 } }),
    ]);
    const { rows } = await t.db.query<{ cost: unknown }>("SELECT cost FROM dp_answers WHERE query_key = 'q2'");
    expect(rows.map((r) => r.cost)).toEqual([{ epsilon: 0.5, delta: 0, rho: 0.005, mechanism: 'discrete-gaussian' }]);
    const gaussianReplay = await request([release(0.5, { mechanism: 'discrete-gaussian', rho: 0.005, costs: [{ rho: 0.005 }], replayed: true })]);
    expect(gaussianReplay.auditCost()!.releases[0]).toMatchObject({ epsilon: 0, delta: 0, rho: 0 });
  });

  it('refuses the whole request when its total, not any one release, exceeds the budget, and charges nothing', async () => {
    const error = await request([release(0.5), release(0.5), release(0.25)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExhaustedError);
    expect(await spent()).toEqual([]);
    // Exactly the budget fits; the next release of any size does not.
    await request([release(0.5), release(0.5)]);
    expect((await spent())[0]).toMatchObject({ pure_epsilon: 1, queries: 1 });
    await expect(request([release(0.001)])).rejects.toBeInstanceOf(BudgetExhaustedError);
  });

  it('describes the refusal by the total asked, and refuses to commit it', async () => {
    await t.db.transaction(async (tx) => {
      const spend = new RequestPrivacySpend(ledger, 'analytics-bot');
      await spend.charge(tx, release(0.75));
      expect(spend.exhausted).toBe(false);
      await expect(spend.charge(tx, release(0.5))).rejects.toBeInstanceOf(BudgetExhaustedError);
      // A later release is refused with the same error: the request stays refused.
      const first = await spend.charge(tx, release(0.1)).catch((e: unknown) => e);
      expect(spend.exhausted).toBe(true);
      expect(spend.refusalMessage()).toBe(
        `This request's 3 privacy releases ask ε=1.35 in all; the agent privacy budget for ${spend.period} cannot cover ε=1.25 (spent 0 of 1); a request asking ε ≤ 1 in all (with δ = 0) still fits until it resets on ${periodResetsOn(spend.period)} (UTC). Nothing was released or charged.`,
      );
      await expect(spend.commit(tx)).rejects.toBe(first);
    });
    expect((await spent()).map((row) => [row.pure_epsilon, row.queries])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('refuses a request whose δ alone exceeds the agent’s δ', async () => {
    const approximate = release(0.1, { delta: 2e-6, costs: [{ epsilon: 0.1, delta: 2e-6 }] });
    await expect(request([approximate])).rejects.toBeInstanceOf(BudgetExhaustedError);
    await request([release(0.1, { delta: 1e-6, costs: [{ epsilon: 0.1, delta: 1e-6 }] })]);
    expect((await spent())[0]).toMatchObject({ approx_delta: 1e-6 });
  });

  it('keeps for replay only a release that has both a key and an answer', async () => {
    await request([release(0.25, { queryKey: 'no-answer' }), release(0.25, { answer: { value: 1, dataVersion: 1 } })]);
    expect((await t.db.query('SELECT query_key FROM dp_answers')).rows).toEqual([]);
    expect(await spent()).toMatchObject([{ pure_epsilon: 0.5 }, { pure_epsilon: 0.5 }]);
  });

  it('charges nothing for a replayed answer, and reports it at zero cost', async () => {
    const spend = await request([release(0.5, { replayed: true, rho: 0.1, mechanism: 'discrete-gaussian' })]);
    expect(await spent()).toEqual([
      { scope: 'agent:analytics-bot', pure_epsilon: 0, approx_delta: 0, queries: 0 },
      { scope: 'dataset:demo', pure_epsilon: 0, approx_delta: 0, queries: 0 },
    ]);
    expect(spend.auditCost()).toMatchObject({
      mechanism: 'discrete-gaussian',
      replayed: true,
      epsilon: 0,
      rho: null,
      releases: [{ epsilon: 0, delta: 0, rho: 0 }],
    });
  });

  it('reports mixed mechanisms and sums ρ over the releases that have one', async () => {
    const gaussian = release(0.3, { mechanism: 'discrete-gaussian', rho: 0.001, costs: [{ rho: 0.001 }] });
    const spend = await request([gaussian, release(0.2)]);
    expect(spend.auditCost()).toMatchObject({ mechanism: 'mixed', epsilon: 0.5, rho: 0.001 });
    expect(new RequestPrivacySpend(ledger, 'analytics-bot').auditCost()).toBeNull();
  });

  it('returns the budget states after the running total, one more query each', async () => {
    await t.db.transaction(async (tx) => {
      const spend = new RequestPrivacySpend(ledger, 'analytics-bot');
      await spend.charge(tx, release(0.25));
      const states = await spend.charge(tx, release(0.25));
      expect(states.map((s) => [s.scope, s.epsilonSpent, s.queries])).toEqual([
        ['agent:analytics-bot', 0.5, 1],
        ['dataset:demo', 0.5, 1],
      ]);
    });
  });

  it('runs a query shared by two aliases once, and keeps one spend per request', async () => {
    const spend = new RequestPrivacySpend(ledger, 'analytics-bot');
    let runs = 0;
    const run = async () => ++runs;
    expect(await Promise.all([spend.once('q', run), spend.once('q', run), spend.once('other', run)])).toEqual([1, 1, 2]);
    const httpRequest = {};
    expect(existingPrivacySpend(httpRequest)).toBeUndefined();
    const created = requestPrivacySpend(httpRequest, ledger, 'analytics-bot');
    expect(requestPrivacySpend(httpRequest, ledger, 'analytics-bot')).toBe(created);
    expect(existingPrivacySpend(httpRequest)).toBe(created);
  });
});
