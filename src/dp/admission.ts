import { refusal } from '../request/refusals.ts';
import type { Queryable } from '../sql/index.ts';
import { AggregateRequestError } from './aggregate-plan.ts';
import { BudgetExhaustedError, type BudgetLedger, type BudgetState } from './ledger.ts';
import { PrivacyParameterError } from './rational.ts';
import { type Release, type RequestPrivacySpend, requestPrivacySpend } from './request-spend.ts';

/**
 * Admits one release that will spend privacy budget, or refuses it: no budget declared for the agent
 * (BUDGET_NOT_DECLARED: a steward's to fix, not a spent budget), or ε or δ outside what one query may spend (PRIVACY_LIMIT_EXCEEDED): ε within
 * [minEpsilonPerQuery, maxEpsilonPerQuery], δ either 0 or within [minDeltaPerQuery, maxDeltaPerQuery].
 * Returns the request's spend, which composes every release of the request.
 */
export function admitPrivacySpend(ledger: BudgetLedger | null, request: object, agentId: string, epsilon: number, delta: number): RequestPrivacySpend {
  const budget = ledger?.agentBudget(agentId);
  if (!ledger || !budget) throw refusal('BUDGET_NOT_DECLARED');
  const epsilonOk = epsilon >= budget.minEpsilonPerQuery && epsilon <= budget.maxEpsilonPerQuery;
  const deltaOk = delta === 0 || (delta >= budget.minDeltaPerQuery && delta <= budget.maxDeltaPerQuery);
  if (!epsilonOk || !deltaOk) {
    throw refusal(
      'PRIVACY_LIMIT_EXCEEDED',
      `Each query may spend ${budget.minEpsilonPerQuery} ≤ ε ≤ ${budget.maxEpsilonPerQuery} and δ = 0 or ${budget.minDeltaPerQuery} ≤ δ ≤ ${budget.maxDeltaPerQuery}.`,
    );
  }
  return requestPrivacySpend(request, ledger, agentId);
}

/** Adds a release to its request's total, or refuses with BUDGET_EXHAUSTED (the whole request then releases nothing). */
export async function chargeRelease(spend: RequestPrivacySpend, tx: Queryable, release: Release): Promise<BudgetState[]> {
  try {
    return await spend.charge(tx, release);
  } catch (error) {
    if (error instanceof BudgetExhaustedError) throw refusal('BUDGET_EXHAUSTED', spend.refusalMessage());
    throw error;
  }
}

/** Parameters the mechanisms cannot honour (an ε too small for a bounded sampler, …) are the agent's to fix: 400. */
export function asPrivacyRefusal<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof AggregateRequestError || error instanceof PrivacyParameterError) throw refusal('INVALID_ARGUMENT', error.message);
    throw error;
  }
}
