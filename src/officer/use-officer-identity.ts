import type { Plugin } from 'graphql-yoga';
import type { AgentRegistry } from '../config/index.ts';
import { refusalResponse } from '../request/refusal-response.ts';
import type { RecordRefusal } from '../request/audit-draft.ts';
import { requestState } from '../request/state.ts';
import { bearerToken, IdentityError, type TokenKeys, verifyToken } from '../identity/index.ts';

export interface OfficerIdentityOptions {
  keys: TokenKeys;
  registry: AgentRegistry;
  /** Records a refusal (no token, a bad one, an agent's) before GraphQL runs. */
  recordRefusal: RecordRefusal;
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
        const token = bearerToken(request.headers.get('authorization'));
        if (!token) throw new IdentityError('UNAUTHENTICATED', 'Send an officer token: Authorization: Bearer <token>.');
        const principal = await verifyToken(token, options.keys, options.registry);
        state.principal = principal;
        if (principal.kind !== 'officer') {
          throw new IdentityError('NOT_AN_OFFICER', `"${principal.id}" is an agent; the officer API serves privacy officers only.`, principal.id);
        }
      } catch (error) {
        if (!(error instanceof IdentityError)) throw error;
        if (!state.principal && error.claimedId) state.access.claimedOfficer = error.claimedId;
        await options.recordRefusal(state, error.code, error.message);
        endResponse(refusalResponse(request, error.code, error.message, 'keyhole-officer'));
      }
    },
  };
}
