import type { Plugin } from 'graphql-yoga';
import type { AgentRegistry } from '../config/index.ts';
import { refusalResponse } from '../request/refusal-response.ts';
import type { RecordRefusal } from '../request/audit-draft.ts';
import { requestState } from '../request/state.ts';
import { type DpopGate, IdentityError, presentedToken, type TokenKeys, verifyToken } from '../identity/index.ts';

export interface OfficerIdentityOptions {
  keys: TokenKeys;
  registry: AgentRegistry;
  /** Records a refusal (no token, a bad one, an agent's) before GraphQL runs. */
  recordRefusal: RecordRefusal;
  /** Checks DPoP proofs of bound officer tokens, and of every token of an officer that requires them. */
  dpop: DpopGate;
}

/**
 * Only a privacy officer's token opens the officer API. Agents are never officers: an agent's valid token is
 * refused with NOT_AN_OFFICER (403), and that attempt is itself recorded under the agent's name. Runs on the
 * endpoint's path only (see useEndpointOnly).
 */
export function useOfficerIdentity(options: OfficerIdentityOptions): Plugin {
  return {
    async onRequest({ request, endResponse }) {
      const state = requestState(request);
      try {
        const presented = presentedToken(request.headers.get('authorization'));
        if (!presented) throw new IdentityError('UNAUTHENTICATED', 'Send an officer token: Authorization: Bearer <token>.');
        const principal = await verifyToken(presented.token, options.keys, options.registry);
        const required = options.registry.issuers.dpopRequired || (principal.kind === 'officer' && principal.officer.requireDpop);
        await options.dpop.check(request, presented, { holderId: principal.id, required });
        state.principal = principal;
        if (principal.kind !== 'officer') {
          throw new IdentityError('NOT_AN_OFFICER', `"${principal.id}" is an agent; the officer API serves privacy officers only.`, principal.id);
        }
      } catch (error) {
        if (!(error instanceof IdentityError)) throw error;
        if (!state.principal && error.claimedId) state.access.claimedOfficer = error.claimedId;
        await options.recordRefusal(state, error.code, error.message);
        endResponse(refusalResponse(request, error.code, error.message, { realm: 'keyhole-officer', dpopRequired: options.registry.issuers.dpopRequired }));
      }
    },
  };
}
