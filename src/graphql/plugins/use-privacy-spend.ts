import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { existingPrivacySpend } from '../../dp/request-spend.ts';
import { refusal } from '../../request/refusals.ts';
import { requestState, type KeyholeContext } from '../../request/state.ts';

/**
 * Charges what a request released, once, after all its fields resolved and inside its transaction (it runs
 * within useTransactionScope, which must come after it in the plugin list). A request some of whose releases
 * did not fit its budgets answers nothing but one BUDGET_EXHAUSTED naming the total it asked; a request that
 * failed otherwise is charged nothing, since it answers nothing either, and one the compliance gate refuses once
 * the spend is written has it withdrawn there (useComplianceGate).
 */
export function usePrivacySpend(): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const result = (await executeFn(args)) as ExecutionResult;
        const request = (args.contextValue as KeyholeContext).request;
        const spend = existingPrivacySpend(request);
        if (!spend) return result;
        if (spend.exhausted) return { errors: [refusal('BUDGET_EXHAUSTED', spend.refusalMessage(), spend.refusalExtensions())] };
        if (result.errors?.length) return result;
        const state = requestState(request);
        await spend.commit(state.tx!);
        state.access.privacyCost = spend.auditCost();
        return result;
      });
    },
  };
}
