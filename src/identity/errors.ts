import type { RefusalCode } from '../request/refusals.ts';

/** The registry's codes for every way a caller can fail to be identified (their statuses are the registry's). */
export type IdentityCode = Extract<
  RefusalCode,
  | 'UNAUTHENTICATED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_LIFETIME_EXCEEDED'
  | 'UNKNOWN_AGENT'
  | 'PURPOSE_NOT_ALLOWED'
  | 'AGENT_REVOKED'
  | 'NOT_AN_OFFICER'
  | 'ISSUER_UNAVAILABLE'
  | 'DPOP_REQUIRED'
  | 'DPOP_INVALID'
  | 'DPOP_REPLAYED'
  | 'DATABASE_UNAVAILABLE'
>;

export class IdentityError extends Error {
  readonly code: IdentityCode;
  /** Who the token claimed to be, when it could be read: recorded in the audit log of the refusal. */
  readonly claimedId: string | null;
  constructor(code: IdentityCode, message: string, claimedId: string | null = null) {
    super(message);
    this.name = 'IdentityError';
    this.code = code;
    this.claimedId = claimedId;
  }
}
