import type { PrivacyConfig } from '../config/index.ts';
import type { Queryable } from '../sql/index.ts';
import { type ComposedCost, epsilonAt, type PrivacyCost } from './accountant.ts';
import { budgetFigure, epsilonRemaining, periodResetsOn } from './budget-figures.ts';

/** A budget's state after (or without) a spend, as agents and officers see it. */
export interface BudgetState {
  scope: string;
  period: string;
  epsilonLimit: number;
  deltaLimit: number;
  /** ε the spends so far certify at the limit's δ (accountant.epsilonAt). */
  epsilonSpent: number;
  deltaSpent: number;
  queries: number;
}

export class BudgetExhaustedError extends Error {
  readonly scope: string;
  /**
   * The ε a request may still ask in all this period (a pure-ε, δ = 0 request of at most this fits); undefined when
   * the shared dataset budget refused, whose figures would tell the agent how much the other agents spent.
   */
  readonly epsilonRemaining: number | undefined;
  /** The first day (UTC) of the next period, when the budget is whole again. */
  readonly resetsOn: string;
  constructor(scope: string, needed: number, state: BudgetState) {
    const resetsOn = periodResetsOn(state.period);
    const budget = `privacy budget for ${state.period}`;
    if (scope.startsWith('dataset:')) {
      super(
        `the dataset ${budget} cannot cover ε=${budgetFigure(needed)} (it is shared by all agents, whose spending is not shown); it resets on ${resetsOn} (UTC)`,
      );
      this.epsilonRemaining = undefined;
    } else {
      const remaining = epsilonRemaining(state.epsilonLimit, state.epsilonSpent);
      const fits = remaining > 0 ? `a request asking ε ≤ ${remaining} in all (with δ = 0) still fits` : 'no further ε fits';
      super(
        `the agent ${budget} cannot cover ε=${budgetFigure(needed)} (spent ${state.epsilonSpent} of ${state.epsilonLimit}); ${fits} until it resets on ${resetsOn} (UTC)`,
      );
      this.epsilonRemaining = remaining;
    }
    this.name = 'BudgetExhaustedError';
    this.scope = scope;
    this.resetsOn = resetsOn;
  }
}

/** A `dp_budget` row as both drivers return it. */
export interface BudgetRow {
  scope: string;
  period: string;
  epsilon_limit: number;
  delta_limit: number;
  pure_epsilon: number;
  pure_rho: number;
  approx_epsilon: number;
  approx_delta: number;
  rho: number;
  queries: number;
}

/** The row's spent components as one composed cost (the accountant's view of the ledger). */
export const composed = (row: BudgetRow): ComposedCost => ({
  pureEpsilon: Number(row.pure_epsilon),
  pureRho: Number(row.pure_rho),
  approxEpsilon: Number(row.approx_epsilon),
  approxDelta: Number(row.approx_delta),
  rho: Number(row.rho),
});

export function stateOf(row: BudgetRow, total: ComposedCost = composed(row), queries = row.queries): BudgetState {
  return {
    scope: row.scope,
    period: row.period,
    epsilonLimit: row.epsilon_limit,
    deltaLimit: row.delta_limit,
    epsilonSpent: budgetFigure(epsilonAt(total, row.delta_limit)),
    deltaSpent: budgetFigure(total.approxDelta),
    queries,
  };
}

/** A cost as decimal text that `numeric` parses exactly: String() gives the shortest form that round-trips. */
const exactDecimal = (value: number): string => {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`a privacy cost must be a finite number ≥ 0, got ${value}`);
  return String(value);
};

/** The period a spend at `at` falls in, e.g. '2026-11' for monthly budgets (UTC). */
export function budgetPeriod(period: PrivacyConfig['period'], at: Date = new Date()): string {
  const iso = at.toISOString();
  return period === 'day' ? iso.slice(0, 10) : period === 'month' ? iso.slice(0, 7) : iso.slice(0, 4);
}

/**
 * The budget ledger in PostgreSQL. `lock` takes row locks on the agent's and the dataset's budget rows (in
 * a fixed order, so no deadlock), which serialises spends against one budget across all broker processes;
 * a request's RequestPrivacySpend checks its total against them and `spendTotal` records it, in the same
 * transaction as the audit record.
 */
export class BudgetLedger {
  private readonly privacy: PrivacyConfig;
  private readonly dataset: string;

  constructor(privacy: PrivacyConfig, dataset: string) {
    this.privacy = privacy;
    this.dataset = dataset;
  }

  period(at?: Date): string {
    return budgetPeriod(this.privacy.period, at);
  }

  /** The agent's declared budget and per-query limits; undefined when it may spend nothing. */
  agentBudget(agentId: string): PrivacyConfig['agents'][string] | undefined {
    return this.privacy.agents[agentId];
  }

  private scopes(agentId: string): Array<{ scope: string; epsilon: number; delta: number }> {
    const agent = this.privacy.agents[agentId];
    if (!agent) return [];
    return [
      { scope: `agent:${agentId}`, epsilon: agent.epsilon, delta: agent.delta },
      { scope: `dataset:${this.dataset}`, epsilon: this.privacy.dataset.epsilon, delta: this.privacy.dataset.delta },
    ].sort((a, b) => (a.scope < b.scope ? -1 : 1));
  }

  /** Locks (creating if needed) the budget rows a query of this agent will charge; returns their states. */
  async lock(tx: Queryable, agentId: string, period: string): Promise<BudgetRow[]> {
    const scopes = this.scopes(agentId);
    for (const { scope, epsilon, delta } of scopes) {
      await tx.query(
        `INSERT INTO dp_budget (scope, period, epsilon_limit, delta_limit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope, period) DO UPDATE SET epsilon_limit = EXCLUDED.epsilon_limit, delta_limit = EXCLUDED.delta_limit
         WHERE dp_budget.epsilon_limit <> EXCLUDED.epsilon_limit OR dp_budget.delta_limit <> EXCLUDED.delta_limit`,
        [scope, period, epsilon, delta],
      );
    }
    const { rows } = await tx.query<BudgetRow>('SELECT * FROM dp_budget WHERE period = $1 AND scope = ANY($2::text[]) ORDER BY scope FOR UPDATE', [
      period,
      scopes.map((s) => s.scope),
    ]);
    return rows;
  }

  /**
   * Adds one request's releases to every locked row in one update each. The components are summed by
   * PostgreSQL in `numeric` (ε²/2 as ε·ε·0.5, which numeric multiplies exactly), so the ledger is the exact sum of what was charged; the caller
   * (RequestPrivacySpend) has already checked that the total fits.
   */
  async spendTotal(tx: Queryable, locked: readonly BudgetRow[], costs: readonly PrivacyCost[]): Promise<void> {
    const pure: number[] = [];
    const approxEpsilon: number[] = [];
    const approxDelta: number[] = [];
    const rho: number[] = [];
    for (const cost of costs) {
      if ('rho' in cost) rho.push(cost.rho);
      else if (cost.delta === 0) pure.push(cost.epsilon);
      else {
        approxEpsilon.push(cost.epsilon);
        approxDelta.push(cost.delta);
      }
    }
    for (const row of locked) {
      await tx.query(
        `UPDATE dp_budget SET
           pure_epsilon = pure_epsilon + (SELECT coalesce(sum(x), 0) FROM unnest($3::numeric[]) x),
           pure_rho = pure_rho + (SELECT coalesce(sum(x * x * 0.5), 0) FROM unnest($3::numeric[]) x),
           approx_epsilon = approx_epsilon + (SELECT coalesce(sum(x), 0) FROM unnest($4::numeric[]) x),
           approx_delta = approx_delta + (SELECT coalesce(sum(x), 0) FROM unnest($5::numeric[]) x),
           rho = rho + (SELECT coalesce(sum(x), 0) FROM unnest($6::numeric[]) x),
           queries = queries + 1
         WHERE scope = $1 AND period = $2`,
        [row.scope, row.period, pure.map(exactDecimal), approxEpsilon.map(exactDecimal), approxDelta.map(exactDecimal), rho.map(exactDecimal)],
      );
    }
  }

  states(locked: readonly BudgetRow[]): BudgetState[] {
    return locked.map((row) => stateOf(row));
  }

  async findAnswer(tx: Queryable, agentId: string, period: string, key: string, dataVersion: number): Promise<unknown | null> {
    const { rows } = await tx.query<{ answer: unknown }>(
      'SELECT answer FROM dp_answers WHERE agent_id = $1 AND period = $2 AND query_key = $3 AND data_version = $4',
      [agentId, period, key, dataVersion],
    );
    return rows[0]?.answer ?? null;
  }

  async storeAnswer(tx: Queryable, agentId: string, period: string, key: string, dataVersion: number, answer: unknown, cost: unknown): Promise<void> {
    await tx.query('INSERT INTO dp_answers (agent_id, period, query_key, data_version, answer, cost) VALUES ($1, $2, $3, $4, $5, $6)', [
      agentId,
      period,
      key,
      dataVersion,
      JSON.stringify(answer),
      JSON.stringify(cost),
    ]);
  }
}
