import type { JWTPayload } from 'jose';
import { formatDuration, type TokenRules } from '../config/index.ts';
import { IdentityError } from './errors.ts';

/** Whom a token names, as far as its lifetime goes: an agent's role sets its maximum, officers have their own. */
export type TokenHolder = { kind: 'agent'; role: string } | { kind: 'officer' };

export function maxLifetimeSeconds(rules: TokenRules, holder: TokenHolder): number {
  return holder.kind === 'officer' ? rules.maxLifetime.officers : (rules.maxLifetime.roles[holder.role] ?? rules.maxLifetime.agents);
}

/** "agents of role "support"" / "officers": whose maximum a refusal names. */
export function holderLabel(holder: TokenHolder): string {
  return holder.kind === 'officer' ? 'officers' : `agents of role "${holder.role}"`;
}

/**
 * The time rules a token obeys on every request, its signature remembered or not. Expiry allows no skew (a
 * token ends early rather than late); a token issued in the future by more than the skew would live longer from
 * now than its exp − iat says, so the maximum would not bound it. Every comparison is written so that a missing
 * or non-numeric claim fails it.
 */
export function checkTokenTimes(claims: JWTPayload, rules: TokenRules, holder: TokenHolder, subject: string, nowMs: number): void {
  const now = Math.floor(nowMs / 1000);
  const { exp, iat } = claims;
  if (!(Number(exp) > now)) throw new IdentityError('TOKEN_EXPIRED', 'the token has expired; request a new one', subject);
  if (!(Number(iat) <= now + rules.clockSkew)) {
    throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token: it was issued in the future', subject);
  }
  const max = maxLifetimeSeconds(rules, holder);
  if (!(Number(exp) - Number(iat) <= max)) {
    throw new IdentityError(
      'TOKEN_LIFETIME_EXCEEDED',
      `the token lives longer than the ${formatDuration(max)} allowed for ${holderLabel(holder)}; request a shorter one`,
      subject,
    );
  }
}
