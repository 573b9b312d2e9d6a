import { type AuditDraft, type Decision, operationHash, type SettleDrafts } from '../audit/index.ts';
import type { RevocationGate } from '../identity/index.ts';
import type { RequestState } from '../request/state.ts';

/** The audit record of a request, from what its state accumulated. */
export function auditDraft(state: RequestState, decision: Decision, code: string | null, reason: string | null): AuditDraft {
  const principal = state.principal;
  const allowed = decision === 'allowed';
  return {
    recordedAt: new Date(),
    requestId: state.requestId,
    actorKind: principal?.kind ?? 'anonymous',
    actorId: principal?.id ?? null,
    purpose: principal?.kind === 'agent' ? principal.purpose : null,
    actorLocation: principal?.kind === 'agent' ? principal.agent.location : null,
    operationKind: state.access.operationKind,
    operationName: state.operationName,
    operationHash: state.query ? operationHash(state.query) : null,
    decision,
    code,
    reason,
    // A refused request returned nothing: record what it asked for in details, not as returned.
    tables: allowed ? [...state.access.tables].sort() : [],
    fields: allowed ? [...state.access.fields.values()] : [],
    rowCount: allowed ? state.access.rowCount : 0,
    subjects: allowed ? state.access.subjects : new Map(),
    privacyCost: state.access.privacyCost,
    findings: state.access.findings,
    details: state.access.details,
  };
}

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
            code: 'AGENT_REVOKED',
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
export const revokedMeanwhile = (draft: AuditDraft, settled: Pick<AuditDraft, 'decision' | 'code'>) =>
  draft.decision === 'allowed' && settled.code === 'AGENT_REVOKED';
