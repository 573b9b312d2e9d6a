import type { AgentRegistry } from '../config/index.ts';
import type { Principal } from '../identity/index.ts';
import { ERROR_CODES } from '../request/refusals.ts';

/**
 * Label values come only from closed lists (the agent registry, the refusal codes, the operation kinds), so a
 * hostile client cannot grow the series count or put its own text, or anyone's personal data, into a label.
 */
export const UNKNOWN_LABEL = 'unknown';

/** The outcome of a request answered with data. */
export const OK_OUTCOME = 'OK';

export interface RequestLabels {
  agent: string;
  purpose: string;
  operation: string;
  outcome: string;
}

const OPERATION_KINDS = new Set(['query', 'dp_aggregate', 'encrypted_aggregate', 'officer_review']);

/** A verified agent of the registry in force, or `unknown` (a refused token's claimed id is never a label). */
export function agentLabel(principal: Principal | null, registry: Pick<AgentRegistry, 'agents'>): string {
  return principal?.kind === 'agent' && registry.agents.has(principal.id) ? principal.id : UNKNOWN_LABEL;
}

/** The purpose the agent was admitted under, when the registry allows the agent that purpose. */
export function purposeLabel(principal: Principal | null, registry: Pick<AgentRegistry, 'agents'>): string {
  if (principal?.kind !== 'agent') return UNKNOWN_LABEL;
  return registry.agents.get(principal.id)?.purposes.includes(principal.purpose) ? principal.purpose : UNKNOWN_LABEL;
}

export function operationLabel(kind: string): string {
  return OPERATION_KINDS.has(kind) ? kind : UNKNOWN_LABEL;
}

/** `OK`, a code of the refusal registry, or `unknown`. */
export function outcomeLabel(code: string | undefined): string {
  if (code === undefined) return OK_OUTCOME;
  return code in ERROR_CODES ? code : UNKNOWN_LABEL;
}
