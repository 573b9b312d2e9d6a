import type { Plugin } from 'graphql-yoga';
import type { AgentDefinition, AgentRegistry, ZoneRules } from '../../config/index.ts';
import {
  type DpopGate,
  IdentityError,
  presentedToken,
  type RevocationGate,
  revokedMessage,
  type TokenKeys,
  VerifiedTokens,
  verifyToken,
} from '../../identity/index.ts';
import type { Db } from '../../sql/index.ts';
import type { RefusalCode } from '../../request/refusals.ts';
import { refusalResponse } from '../../request/refusal-response.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { requestState } from '../../request/state.ts';

export interface IdentityOptions {
  keys: TokenKeys;
  registry: AgentRegistry;
  db: Db;
  /** Refuses agents seen revoked before their requests run; the binding check is at the record's commit. */
  revocations: RevocationGate;
  /** Records a refusal that happens before GraphQL runs. */
  recordRefusal: RecordRefusal;
  /** Checks DPoP proofs of bound tokens, and of every token of an agent or zone that requires them. */
  dpop: DpopGate;
  /** The zone an agent is served in now (its requireDpop applies to every agent in it). */
  zoneOf: (agent: AgentDefinition) => ZoneRules;
}

/**
 * Who is calling, decided before anything else on the endpoint's path (see useEndpointOnly): a request
 * without a valid agent token never reaches the schema, so not even an error message can tell it what exists.
 */
export function useIdentity(options: IdentityOptions): Plugin {
  const verified = new VerifiedTokens();
  return {
    async onRequest({ request, endResponse }) {
      const state = requestState(request);
      const refuse = async (code: RefusalCode, message: string, claimedId: string | null) => {
        if (!state.principal && claimedId) state.access.claimedAgent = claimedId;
        await options.recordRefusal(state, code, message);
        // Only an expired token's signature has been verified, so only its agent is known: another's claimed name
        // must not learn what that agent's policy asks.
        const knownAgent = code === 'TOKEN_EXPIRED' && claimedId ? options.registry.agents.get(claimedId) : undefined;
        endResponse(refusalResponse(request, code, message, { dpopRequired: dpopRequiredOf(knownAgent) }));
      };
      const dpopRequiredOf = (agent: AgentDefinition | undefined) =>
        options.registry.issuers.dpopRequired || (agent !== undefined && (agent.requireDpop || options.zoneOf(agent).requireDpop));
      try {
        const presented = presentedToken(request.headers.get('authorization'));
        if (!presented) throw new IdentityError('UNAUTHENTICATED', 'Send an agent token: Authorization: Bearer <token>.');
        const principal = await verifyToken(presented.token, options.keys, options.registry, verified);
        if (principal.kind !== 'agent') {
          throw new IdentityError('UNKNOWN_AGENT', 'This endpoint serves agents; officers use /officer/graphql.', principal.id);
        }
        if (state.dpopPassedToken !== presented.token) {
          await options.dpop.check(request, presented, { holderId: principal.id, required: dpopRequiredOf(principal.agent) });
          state.dpopPassedToken = presented.token;
        }
        state.principal = principal;
        if ((await options.revocations.refusesUpFront(options.db, principal.id)).revoked) {
          throw new IdentityError('AGENT_REVOKED', revokedMessage(principal.id), principal.id);
        }
      } catch (error) {
        if (error instanceof IdentityError) await refuse(error.code, error.message, error.claimedId);
        else await refuse('DATABASE_UNAVAILABLE', 'The broker cannot check this agent right now.', null);
      }
    },
  };
}
