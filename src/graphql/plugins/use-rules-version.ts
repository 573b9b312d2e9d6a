import type { Plugin } from 'graphql-yoga';
import { requestState } from '../../request/state.ts';

/**
 * Stamps every request's audit record with the rules version that decided it (`details.rulesVersion`), so a rule it
 * cites as file:line resolves to the text in force. The broker pins one rules version per request on arrival
 * (src/in-force.ts): a hot reload landing while it runs leaves the request under the version it arrived under.
 */
export function useRulesVersion(inForce: () => number | null): Plugin {
  return {
    onRequest({ request }) {
      requestState(request).access.rulesVersion = inForce();
    },
  };
}
