import { refusal } from '../request/refusals.ts';
import type { Queryable } from '../sql/index.ts';
import { AggregateRequestError } from './aggregate-plan.ts';
import { BudgetExhaustedError, type BudgetLedger, type BudgetState } from './ledger.ts';
import { PrivacyParameterError } from './rational.ts';
import { type Release, type RequestPrivacySpend, requestPrivacySpend } from './request-spend.ts';

/**
 * Admits one release that will spend privacy budget, or refuses it: an ε or δ that is no privacy parameter at
 * all (ε ≤ 0, δ < 0 or > 1, NaN: INVALID_ARGUMENT, the agent's mistake), no budget declared for the agent
 * (BUDGET_NOT_DECLARED: a steward's to fix, not a spent budget), or ε or δ outside what one query may spend
 * (PRIVACY_LIMIT_EXCEEDED): ε within [minEpsilonPerQuery, maxEpsilonPerQuery], δ either 0 or within
 * [minDeltaPerQuery, maxDeltaPerQuery]. Every refusal echoes the values asked. Returns the request's spend,
 * which composes every release of the request.
 */
export function admitPrivacySpend(ledger: BudgetLedger | null, request: object, agentId: string, epsilon: number, delta: number): RequestPrivacySpend {
  checkPrivacyParameters(epsilon, delta);
  const budget = ledger?.agentBudget(agentId);
  if (!ledger || !budget) throw refusal('BUDGET_NOT_DECLARED');
  const epsilonOk = epsilon >= budget.minEpsilonPerQuery && epsilon <= budget.maxEpsilonPerQuery;
  const deltaOk = delta === 0 || (delta >= budget.minDeltaPerQuery && delta <= budget.maxDeltaPerQuery);
  if (!epsilonOk || !deltaOk) {
    throw refusal(
      'PRIVACY_LIMIT_EXCEEDED',
      `This query asks ε = ${epsilon} and δ = ${delta}; each query may spend ${budget.minEpsilonPerQuery} ≤ ε ≤ ${budget.maxEpsilonPerQuery} and δ = 0 or ${budget.minDeltaPerQuery} ≤ δ ≤ ${budget.maxDeltaPerQuery}.`,
    );
  }
  return requestPrivacySpend(request, ledger, agentId);
}

function checkPrivacyParameters(epsilon: number, delta: number): void {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw refusal('INVALID_ARGUMENT', `ε must be a finite number > 0; this query asks ε = ${epsilon}.`);
  if (!(delta >= 0 && delta <= 1)) throw refusal('INVALID_ARGUMENT', `δ must be a number from 0 to 1; this query asks δ = ${delta}.`);
}

/** Adds a release to its request's total, or refuses with BUDGET_EXHAUSTED (the whole request then releases nothing). */
export async function chargeRelease(spend: RequestPrivacySpend, tx: Queryable, release: Release): Promise<BudgetState[]> {
  try {
    return await spend.charge(tx, release);
  } catch (error) {
    if (error instanceof BudgetExhaustedError) throw refusal('BUDGET_EXHAUSTED', spend.refusalMessage(), spend.refusalExtensions());
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
