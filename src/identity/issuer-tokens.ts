import { createHash } from 'node:crypto';
import { errors, type JWTPayload, jwtVerify } from 'jose';
import { formatDuration, type TrustedIssuer, type TrustedIssuers } from '../config/index.ts';
import { IdentityError } from './errors.ts';
import { issuerKeys, IssuerUnavailable } from './issuer-keys.ts';

/** The trusted issuer a token names in `iss` (read before its signature is checked, only to pick the keys). */
export function trustedIssuerOf(claimedIssuer: unknown, issuers: TrustedIssuers): TrustedIssuer | undefined {
  return typeof claimedIssuer === 'string' ? issuers.byIssuer.get(claimedIssuer) : undefined;
}

/** The caller's text, cut short and kept printable, for a refusal message. */
function printable(value: unknown): string {
  return String(value)
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 80);
}

/** Which check a token from `issuer` failed, said so the agent's operator can fix the identity provider's side. */
function refusal(error: unknown, issuer: TrustedIssuer, claimedId: string | null): IdentityError {
  const from = `the token from ${issuer.issuer} is not valid`;
  if (error instanceof IssuerUnavailable) return new IdentityError('ISSUER_UNAVAILABLE', error.message, claimedId);
  if (error instanceof errors.JWTExpired) return new IdentityError('TOKEN_EXPIRED', 'the token has expired; request a new one', claimedId);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new IdentityError('TOKEN_INVALID', `${from}: its algorithm is not one this issuer may use (${issuer.algorithms.join(', ')})`, claimedId);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const expected = error.claim === 'aud' ? ` (expected "${issuer.audience}")` : '';
    return new IdentityError('TOKEN_INVALID', `${from}: the "${error.claim}" claim failed its check: ${error.message}${expected}`, claimedId);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new IdentityError('TOKEN_INVALID', `${from}: it is signed with a key this issuer does not publish`, claimedId);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new IdentityError('TOKEN_INVALID', `${from}: its signature does not verify`, claimedId);
  return new IdentityError('TOKEN_INVALID', `${from}: ${error instanceof Error ? error.message : 'it cannot be read'}`, claimedId);
}

/** The one purpose the token's purpose claim names (see `purpose` in schema/issuers.yaml). */
function purposeOf(payload: JWTPayload, issuer: TrustedIssuer, agent: string): string {
  const { claim, prefix } = issuer.purpose;
  const value = payload[claim];
  const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
  const purposes = items.filter((item) => item.startsWith(prefix)).map((item) => item.slice(prefix.length));
  if (purposes.length === 1) return purposes[0]!;
  if (purposes.length === 0) {
    throw new IdentityError(
      'PURPOSE_NOT_ALLOWED',
      `the token names no purpose: its "${claim}" claim must hold one "${prefix}<purpose>" (request e.g. scope=${prefix}<purpose>)`,
      agent,
    );
  }
  throw new IdentityError('TOKEN_INVALID', `the token names ${purposes.length} purposes in "${claim}"; a token declares exactly one`, agent);
}

/**
 * Verifies a token from a trusted issuer — signature with the issuer's published keys and allowed algorithms,
 * `iss`, `aud` (the broker's resource identifier), `exp`/`nbf` with the issuer's clock skew, the issuer's maximum
 * lifetime — and maps it to the claims the rest of identity reads: `sub` the agent (from the issuer's agent claim),
 * `purpose`, `jti` (the token's own, or a hash of it). A delegated token keeps its `sub` (the person) and `act`
 * (which must name the agent); the issuer's other claims pass through (a person's claims), and `kh_kind` is always
 * an agent's, whatever the token says.
 */
export async function verifiedIssuerClaims(token: string, issuer: TrustedIssuer, claimedId: string | null, now: number): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, issuerKeys(issuer), {
      algorithms: [...issuer.algorithms],
      issuer: issuer.issuer,
      audience: issuer.audience,
      requiredClaims: ['exp', 'iat'],
      clockTolerance: issuer.clockSkew,
      currentDate: new Date(now),
    }));
  } catch (error) {
    throw refusal(error, issuer, claimedId);
  }
  const named = payload[issuer.agentClaim];
  if (typeof named !== 'string') {
    throw new IdentityError('TOKEN_INVALID', `the token from ${issuer.issuer} has no "${issuer.agentClaim}" claim naming the agent`, claimedId);
  }
  const agent = Object.hasOwn(issuer.agents, named) ? issuer.agents[named]! : named;
  const lifetime = Number(payload.exp) - Number(payload.iat);
  if (!(lifetime <= issuer.maxLifetime)) {
    throw new IdentityError(
      'TOKEN_LIFETIME_EXCEEDED',
      `the token lives ${formatDuration(lifetime)}, longer than the ${formatDuration(issuer.maxLifetime)} allowed for tokens from ${issuer.issuer} (maxLifetime in schema/issuers.yaml)`,
      printable(agent),
    );
  }
  const delegated = payload.act !== undefined;
  // A delegated token (RFC 8693) keeps `sub`, the person; its actor must be the client the issuer gave it to.
  if (delegated && (payload.act as { sub?: unknown } | null)?.sub !== agent) {
    throw new IdentityError(
      'TOKEN_INVALID',
      `the token from ${issuer.issuer} names an actor (act.sub) other than the agent it was issued to ("${printable(agent)}")`,
      printable(agent),
    );
  }
  return {
    ...payload,
    ...(delegated ? {} : { sub: agent }),
    kh_kind: 'agent',
    purpose: purposeOf(payload, issuer, printable(agent)),
    jti: typeof payload.jti === 'string' ? payload.jti : createHash('sha256').update(token).digest('base64url'),
  };
}
