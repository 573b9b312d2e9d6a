import { type AuditDraft, type Decision, operationHash } from '../audit/index.ts';
import type { AccessTally, RequestState } from './state.ts';

/**
 * graphql-js repeats the offending value in its input errors. The caller may see it (it sent it), but the log keeps
 * the reason for years, and the value may be personal data (an officer's lookup by e-mail): the record keeps the
 * reason without it.
 */
const VALUE_ECHOES: ReadonlyArray<[RegExp, string]> = [
  [/^(Variable "\$\w+") got invalid value[\s\S]*$/, '$1 got an invalid value'],
  [/^(Argument "\w+" has invalid value)[\s\S]*$/, '$1'],
  [/^(Expected value of type "[^"]+"), found[\s\S]*$/, '$1'],
  [/^([^:]*? cannot represent [^:]*): [\s\S]*$/, '$1'],
];

/**
 * graphql-js also repeats the names the caller wrote (a field, a directive, a variable), each as long as the body
 * limit lets it be: a record kept for years grows no longer than this for them.
 */
const MAX_REASON_CHARS = 2000;

export function recordableReason(reason: string | null): string | null {
  if (reason === null) return null;
  const cut =
    reason.length <= MAX_REASON_CHARS
      ? reason
      : `${reason.slice(0, MAX_REASON_CHARS).toWellFormed()}… (${reason.length - MAX_REASON_CHARS} more characters not recorded)`;
  for (const [echo, kept] of VALUE_ECHOES) if (echo.test(cut)) return `${cut.replace(echo, kept)} (the value given is not recorded).`;
  return cut;
}

/** The audit record of a request, from what its state accumulated; `auditKey` keys its operation hash. */
export function auditDraft(state: RequestState, auditKey: Uint8Array, decision: Decision, code: string | null, reason: string | null): AuditDraft {
  const principal = state.principal;
  const allowed = decision === 'allowed';
  return {
    recordedAt: new Date(),
    requestId: state.requestId,
    actorKind: principal?.kind ?? 'anonymous',
    actorId: principal?.id ?? null,
    onBehalfOf: principal?.kind === 'agent' ? (principal.onBehalfOf?.id ?? null) : null,
    purpose: principal?.kind === 'agent' ? principal.purpose : null,
    actorLocation: principal?.kind === 'agent' ? principal.agent.location : null,
    operationKind: state.access.operationKind,
    operationName: state.operationName,
    operationHash: state.query ? operationHash(auditKey, state.query) : null,
    decision,
    code,
    reason: recordableReason(reason),
    // A refused request returned nothing: record what it asked for in details, not as returned.
    tables: allowed ? [...state.access.tables].sort() : [],
    fields: allowed ? [...state.access.fields.values()] : [],
    rowCount: allowed ? state.access.rowCount : 0,
    subjects: allowed ? state.access.subjects : new Map(),
    privacyCost: state.access.privacyCost,
    findings: state.access.findings,
    details: auditDetails(state.access),
  };
}

/** The record's `details`: the tally's notes that were made, under the keys records have always used. */
function auditDetails(access: AccessTally): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (access.withheld.length > 0) details.withheld = access.withheld;
  if (access.claimedAgent !== null) details.claimedAgent = access.claimedAgent;
  if (access.claimedOfficer !== null) details.claimedId = access.claimedOfficer;
  if (access.officerQueries.length > 0) details.officerQueries = access.officerQueries;
  if (access.encryptedAggregates.length > 0) details.encryptedAggregates = access.encryptedAggregates;
  if (access.untrustedText !== null) details.untrustedText = access.untrustedText;
  if (access.rulesVersion !== null) details.rulesVersion = access.rulesVersion;
  if (access.transport !== null) details.transport = access.transport;
  return details;
}

/**
 * Writes, on its own, the record of a request answered without data: refused (`denied`, by default) or abandoned
 * on a failure (`error`). It never throws: a record it cannot write is logged, and the request is refused anyway.
 */
export type RecordRefusal = (state: RequestState, code: string, reason: string | null, decision?: 'denied' | 'error') => Promise<void>;
