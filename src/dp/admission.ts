import { refusal } from '../graphql/errors.ts';
import type { Queryable } from '../sql/index.ts';
import type { PrivacyCost } from './accountant.ts';
import { BudgetExhaustedError, type BudgetLedger, type BudgetRow, type BudgetState } from './ledger.ts';

/**
 * Admits a query that will spend privacy budget, or refuses it: no budget declared for the agent
 * (BUDGET_EXHAUSTED), or more ε or δ than one query may spend (PRIVACY_LIMIT_EXCEEDED).
 */
export function admitPrivacySpend(ledger: BudgetLedger | null, agentId: string, epsilon: number, delta: number): BudgetLedger {
  const budget = ledger?.agentBudget(agentId);
  if (!ledger || !budget) throw refusal('BUDGET_EXHAUSTED', 'No privacy budget is declared for this agent.');
  if (!(epsilon > 0) || epsilon > budget.maxEpsilonPerQuery || !(delta >= 0) || delta > budget.maxDeltaPerQuery) {
    throw refusal('PRIVACY_LIMIT_EXCEEDED', `Each query may spend 0 < ε ≤ ${budget.maxEpsilonPerQuery} and δ ≤ ${budget.maxDeltaPerQuery}.`);
  }
  return ledger;
}

/** Charges the locked budgets, or refuses with BUDGET_EXHAUSTED having charged nothing. */
export async function chargePrivacySpend(ledger: BudgetLedger, tx: Queryable, locked: readonly BudgetRow[], costs: readonly PrivacyCost[], epsilon: number): Promise<BudgetState[]> {
  try {
    return await ledger.spend(tx, locked, costs, epsilon);
  } catch (error) {
    if (error instanceof BudgetExhaustedError) throw refusal('BUDGET_EXHAUSTED', error.message);
    throw error;
  }
}
