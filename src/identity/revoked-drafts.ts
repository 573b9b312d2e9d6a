import type { AuditDraft, SettleDrafts } from '../audit/index.ts';
import type { RefusalCode } from '../request/refusals.ts';
import type { RevocationGate } from './revocation.ts';

const REVOKED: RefusalCode = 'AGENT_REVOKED';

export const revokedMessage = (agentId: string) => `Agent "${agentId}" has been revoked.`;

const isAllowedAgentDraft = (draft: AuditDraft) => draft.decision === 'allowed' && draft.actorKind === 'agent' && draft.actorId !== null;

/**
 * Settles agents' drafts in their record's transaction: an allowed draft of an agent revoked by now becomes an
 * AGENT_REVOKED denial that returned nothing, so its answer is never sent.
 */
export function refuseRevokedAgents(gate: RevocationGate): SettleDrafts {
  return async (tx, drafts) => {
    const revoked = await gate.revokedNow(tx, [...new Set(drafts.filter(isAllowedAgentDraft).map((draft) => draft.actorId!))]);
    return drafts.map((draft) =>
      isAllowedAgentDraft(draft) && revoked.has(draft.actorId!)
        ? {
            ...draft,
            decision: 'denied',
            code: REVOKED,
            reason: revokedMessage(draft.actorId!),
            tables: [],
            fields: [],
            rowCount: 0,
            subjects: new Map(),
          }
        : draft,
    );
  };
}

/** Whether settling turned this allowed draft into a revocation: its answer must not leave. */
export const revokedMeanwhile = (draft: AuditDraft, settled: Pick<AuditDraft, 'decision' | 'code'>) => draft.decision === 'allowed' && settled.code === REVOKED;
