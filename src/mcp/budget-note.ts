import { epsilonRemaining } from '../dp/budget-figures.ts';
import { type BudgetLedger, type BudgetRow, stateOf } from '../dp/ledger.ts';
import type { Queryable } from '../sql/index.ts';
import type { DpBudgetNote } from './view-tools.ts';

/**
 * Reads what an agent's own privacy budget has left this period, for the DP tools' descriptions: the limits the
 * ledger enforces (zones applied) and what its row has spent, without locking it (a description, not a spend).
 */
export function budgetNoteReader(db: Queryable, ledgerInForce: () => BudgetLedger | null): (agentId: string) => Promise<DpBudgetNote | null> {
  return async (agentId) => {
    const ledger = ledgerInForce();
    const declared = ledger?.agentBudget(agentId);
    if (!ledger || !declared) return null;
    const period = ledger.period();
    const { rows } = await db.query<BudgetRow>('SELECT * FROM dp_budget WHERE scope = $1 AND period = $2', [`agent:${agentId}`, period]);
    const spent = rows[0] ? stateOf(rows[0]).epsilonSpent : 0;
    return {
      period,
      epsilonLimit: declared.epsilon,
      epsilonRemaining: epsilonRemaining(declared.epsilon, spent),
      minEpsilonPerQuery: declared.minEpsilonPerQuery,
      maxEpsilonPerQuery: declared.maxEpsilonPerQuery,
    };
  };
}
