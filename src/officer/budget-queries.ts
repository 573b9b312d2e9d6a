import type { PrivacyConfig } from '../config/index.ts';
import { epsilonAt } from '../dp/index.ts';
import { type BudgetRow, budgetPeriod, composed as composedCost } from '../dp/ledger.ts';
import type { Queryable } from '../sql/index.ts';
import { bindParam } from './filter.ts';
import { num } from './sql-values.ts';

/** The differential-privacy budget ledger (`dp_budget`, src/dp/ledger.ts) as an officer reads it. */

export type BudgetScopeKind = 'agent' | 'dataset';

export interface BudgetUse {
  scope: string;
  kind: BudgetScopeKind;
  /** The agent's id or the dataset's name. */
  name: string;
  period: string;
  epsilonLimit: number;
  /** ε the period's composed spends certify at the limit's δ; null when their δ alone exceeds it. */
  epsilonSpent: number | null;
  epsilonRemaining: number;
  deltaLimit: number;
  deltaSpent: number;
  rhoSpent: number;
  queries: number;
  /** When the period ends and a fresh budget starts (UTC); null for a period of unknown form. */
  resetsAt: string | null;
}

export interface BudgetQuery {
  agent?: string | null | undefined;
  period?: string | null | undefined;
  /** Keep periods that overlap [from, to), ISO 8601. */
  from?: string | null | undefined;
  to?: string | null | undefined;
}

const SCOPE = /^(agent|dataset):(.+)$/;

/** The instants a ledger period covers: 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' (UTC); null for any other form. */
export function periodInterval(period: string): { start: Date; end: Date } | null {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(period);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), match[2] ? Number(match[2]) - 1 : null, match[3] ? Number(match[3]) : null];
  if (month === null) return { start: new Date(Date.UTC(year, 0, 1)), end: new Date(Date.UTC(year + 1, 0, 1)) };
  if (day === null) return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  return { start: new Date(Date.UTC(year, month, day)), end: new Date(Date.UTC(year, month, day + 1)) };
}

/** Whether a period overlaps [from, to); a period of unknown form is kept rather than hidden. */
export function periodOverlaps(period: string, from: string | null | undefined, to: string | null | undefined): boolean {
  const interval = periodInterval(period);
  if (!interval) return true;
  return (!from || interval.end > new Date(from)) && (!to || interval.start < new Date(to));
}

/** One ledger row read the way the ledger checks it: its components composed at its own δ limit. */
export function budgetUse(row: BudgetRow, kind: BudgetScopeKind, name: string): BudgetUse {
  const composed = composedCost(row);
  const epsilonLimit = num(row.epsilon_limit);
  const spent = epsilonAt(composed, num(row.delta_limit));
  const epsilonSpent = Number.isFinite(spent) ? spent : null;
  return {
    scope: row.scope,
    kind,
    name,
    period: row.period,
    epsilonLimit,
    epsilonSpent,
    epsilonRemaining: epsilonSpent === null ? 0 : Math.max(0, epsilonLimit - epsilonSpent),
    deltaLimit: num(row.delta_limit),
    deltaSpent: composed.approxDelta,
    rhoSpent: composed.rho,
    queries: num(row.queries),
    resetsAt: periodInterval(row.period)?.end.toISOString() ?? null,
  };
}

/** Every budget row of the ledger that the query selects, agents' and datasets', by scope then period. */
export async function budgetUses(db: Queryable, query: BudgetQuery): Promise<BudgetUse[]> {
  const params: unknown[] = [];
  const conditions = ['TRUE'];
  if (query.period) conditions.push(`period = ${bindParam(params, query.period)}`);
  // An agent filter narrows the agents' rows; the dataset's budget is everyone's, so it always stays.
  if (query.agent) conditions.push(`(scope = ${bindParam(params, `agent:${query.agent}`)} OR scope LIKE 'dataset:%')`);
  const { rows } = await db.query<BudgetRow>(`SELECT * FROM dp_budget WHERE ${conditions.join(' AND ')} ORDER BY scope, period`, params);
  return rows.flatMap((row) => {
    const scope = SCOPE.exec(row.scope);
    if (!scope || !periodOverlaps(row.period, query.from, query.to)) return [];
    return [budgetUse(row, scope[1] as BudgetScopeKind, scope[2]!)];
  });
}

/**
 * The current period's budgets that policies.yaml declares but the ledger has no row for yet (nothing was
 * charged): an officer sees every agent that may spend, not only those that did.
 */
export function unspentBudgets(
  privacy: PrivacyConfig | undefined,
  dataset: string,
  query: BudgetQuery,
  listed: readonly BudgetUse[],
  now = new Date(),
): BudgetUse[] {
  if (!privacy) return [];
  const period = budgetPeriod(privacy.period, now);
  if (query.period ? query.period !== period : !periodOverlaps(period, query.from, query.to)) return [];
  const declared = [
    ...Object.entries(privacy.agents)
      .filter(([agent]) => !query.agent || agent === query.agent)
      .map(([agent, budget]) => ({ kind: 'agent' as const, name: agent, budget })),
    { kind: 'dataset' as const, name: dataset, budget: privacy.dataset },
  ];
  const seen = new Set(listed.filter((u) => u.period === period).map((u) => u.scope));
  return declared
    .filter(({ kind, name }) => !seen.has(`${kind}:${name}`))
    .map(({ kind, name, budget }) =>
      budgetUse(
        {
          scope: `${kind}:${name}`,
          period,
          epsilon_limit: budget.epsilon,
          delta_limit: budget.delta,
          pure_epsilon: 0,
          pure_rho: 0,
          approx_epsilon: 0,
          approx_delta: 0,
          rho: 0,
          queries: 0,
        },
        kind,
        name,
      ),
    );
}
