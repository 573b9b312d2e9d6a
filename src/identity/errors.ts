/** Stable codes for every way a caller can fail to be identified; the README lists them. */
export const IDENTITY_CODES = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_LIFETIME_EXCEEDED: 'TOKEN_LIFETIME_EXCEEDED',
  UNKNOWN_AGENT: 'UNKNOWN_AGENT',
  PURPOSE_NOT_ALLOWED: 'PURPOSE_NOT_ALLOWED',
  AGENT_REVOKED: 'AGENT_REVOKED',
  NOT_AN_OFFICER: 'NOT_AN_OFFICER',
} as const;
export type IdentityCode = (typeof IDENTITY_CODES)[keyof typeof IDENTITY_CODES];

export class IdentityError extends Error {
  readonly code: IdentityCode;
  readonly status: 401 | 403;
  /** Who the token claimed to be, when it could be read: recorded in the audit log of the refusal. */
  readonly claimedId: string | null;
  constructor(code: IdentityCode, message: string, claimedId: string | null = null) {
    super(message);
    this.name = 'IdentityError';
    this.code = code;
    this.status = code === 'AGENT_REVOKED' || code === 'NOT_AN_OFFICER' ? 403 : 401;
    this.claimedId = claimedId;
  }
}
