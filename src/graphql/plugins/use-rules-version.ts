import type { Plugin } from 'graphql-yoga';
import { type KeyholeContext, requestState } from '../../request/state.ts';

export interface RulesVersionLookup {
  /** The stored rules version in force now. */
  inForce: () => number | null;
  /** The stored rules version behind a masking decider's version, for those this broker has put in force. */
  ofMasking: (maskingVersion: string) => number | undefined;
}

/** The masking version a view was compiled under: the end of its key (src/policy/view.ts buildView). */
function maskingVersionOf(viewKey: string): string {
  return viewKey.slice(viewKey.lastIndexOf('@') + 1);
}

/**
 * Stamps every request's audit record with the rules version that decided it (`details.rulesVersion`), so a rule it
 * cites as file:line resolves to the text in force. On arrival, the version in force (for a request refused before
 * it has a view); once its view is chosen, the version that view was compiled under, so a hot reload landing
 * between the two cannot attribute the answer to rules that did not make it.
 */
export function useRulesVersion(lookup: RulesVersionLookup): Plugin {
  return {
    onRequest({ request }) {
      requestState(request).access.rulesVersion = lookup.inForce();
    },
    onExecute({ args }) {
      const state = requestState((args.contextValue as KeyholeContext).request);
      const decided = state.view && lookup.ofMasking(maskingVersionOf(state.view.key));
      if (decided !== undefined && decided !== null) state.access.rulesVersion = decided;
    },
  };
}
