import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { markUntrustedText, untrustedFieldsOf } from '../../agent-controls/injection/index.ts';
import { type KeyholeContext, requestState } from '../../request/state.ts';

/**
 * Scans every value of the view's untrusted-text fields in an answer for prompt injection and does what the
 * policy says with the flagged ones (flag, neutralise, withhold), listing them in `extensions.untrustedText`
 * and counting them for the audit record. It runs on the answer that leaves: inside useTransactionScope (so
 * before it in the plugin list), so that a record written in the request's own transaction counts them too,
 * and after the privacy spend and the compliance gate, which may still refuse the answer.
 */
export function useUntrustedText(): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const result = (await executeFn(args)) as ExecutionResult;
        const state = requestState((args.contextValue as KeyholeContext).request);
        if (result.errors?.length || !result.data || !state.view) return result;
        const fields = untrustedFieldsOf(state.view);
        if (fields.size === 0) return result;
        const { marks, tally } = markUntrustedText({
          schema: args.schema,
          document: args.document,
          operationName: args.operationName,
          variableValues: args.variableValues as Record<string, unknown> | null | undefined,
          data: result.data as Record<string, unknown>,
          fields,
          action: state.view.untrustedText.action,
        });
        state.access.untrustedText = tally;
        return marks.length === 0 ? result : { ...result, extensions: { ...result.extensions, untrustedText: marks } };
      });
    },
  };
}
