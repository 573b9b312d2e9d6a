import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ComplianceGate } from '../../compliance/index.ts';
import { existingPrivacySpend } from '../../dp/request-spend.ts';
import { isRefusal } from '../../request/refusals.ts';
import { type KeyholeContext, requestState } from '../../request/state.ts';

/**
 * An answer the view allowed is checked against the compliance rules (src/compliance) before it is recorded and
 * sent: a refusal replaces it, and is what the audit records, and takes back the request's privacy spend. It runs on
 * the request's statements (inside useTransactionScope, so before it in the plugin list); anything but a refusal
 * abandons the request.
 */
export function useComplianceGate(gate: ComplianceGate): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const result = (await executeFn(args)) as ExecutionResult;
        if (result.errors?.length) return result;
        const request = (args.contextValue as KeyholeContext).request;
        const state = requestState(request);
        try {
          await gate(state, state.tx!);
          return result;
        } catch (error) {
          if (!isRefusal(error)) throw error;
          // usePrivacySpend, inside this plugin, has already written the spend: a refused answer releases nothing, so costs nothing.
          await existingPrivacySpend(request)?.withdraw(state.tx!);
          state.access.privacyCost = null;
          return { errors: [error as GraphQLError] };
        }
      });
    },
  };
}
