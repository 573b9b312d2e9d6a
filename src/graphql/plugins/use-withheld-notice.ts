import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type KeyholeContext, requestState } from '../../request/state.ts';

/**
 * Tells the agent, in `extensions.withheld`, which subject jurisdictions its view withholds from the tables it
 * read: the policy's statement, not the audit record's counts, which depend on who matched the agent's filter.
 * Only an answer with data says it: installed after useAudit, it sees what leaves.
 */
export function useWithheldNotice(): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const result = (await executeFn(args)) as ExecutionResult;
        const state = requestState((args.contextValue as KeyholeContext).request);
        if (result.errors?.length || state.withholding.size === 0) return result;
        const withheld = [...state.withholding].map(([table, jurisdictions]) => ({ table, jurisdictions }));
        return { ...result, extensions: { ...result.extensions, withheld } };
      });
    },
  };
}
