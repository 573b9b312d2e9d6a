import { createHash } from 'node:crypto';
import { base64url, calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose';
import { IdentityError } from './errors.ts';

/** Signature algorithms a DPoP proof may use: asymmetric only, so `none` and HMAC (a shared secret) never pass. */
export const DPOP_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;

/** A proof's `jti` is stored by every broker until the proof expires; a longer one is refused, not stored. */
const MAX_JTI_LENGTH = 128;

/** What a proof must be bound to: the request it came with and the access token it came with. */
export interface DpopTarget {
  method: string;
  /** The request's URI as the client addressed it (see dpopTargetUri). */
  uri: string;
  accessToken: string;
}

export interface VerifiedDpopProof {
  jti: string;
  /** The JWK SHA-256 thumbprint (RFC 7638) of the key that signed the proof: the token's `cnf.jkt` must equal it. */
  jkt: string;
  /** When the proof stops being accepted (`iat` + the window): its `jti` must stay unusable until then. */
  expiresAt: Date;
}

export interface DpopProofRules {
  /** How far `iat` may be from `now`, either way, in seconds (tokens.dpopProofWindow in agents.yaml). */
  windowSeconds: number;
  /** Milliseconds since the epoch. */
  now: number;
}

const invalid = (why: string) => new IdentityError('DPOP_INVALID', `The DPoP proof is not valid: ${why}.`);

/** base64url(SHA-256(token)): the `ath` claim that ties a proof to one access token (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return base64url.encode(createHash('sha256').update(accessToken, 'ascii').digest());
}

/**
 * The request URI a proof's `htu` is compared with (RFC 9449 §4.3): without query and fragment, normalised as
 * WHATWG URL parsing does (scheme and host lower-cased, default port and dot segments removed). Behind a proxy or
 * load balancer the URL the broker sees is not the one the client signed, so `publicUrl` (KEYHOLE_PUBLIC_URL) sets
 * the scheme, host and path prefix clients address, and only the request's path is taken from the request.
 */
export function dpopTargetUri(requestUrl: string, publicUrl?: string): string {
  const request = new URL(requestUrl);
  const base = publicUrl ? new URL(publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`) : undefined;
  const target = base ? new URL(request.pathname.replace(/^\/+/, ''), base) : request;
  return `${target.origin}${target.pathname}`;
}

function comparableUri(uri: unknown): string | undefined {
  if (typeof uri !== 'string') return undefined;
  try {
    return dpopTargetUri(uri);
  } catch {
    return undefined;
  }
}

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3) for one request and one access token: `typ` dpop+jwt, an asymmetric
 * algorithm, a public `jwk` in the header that verifies the signature, `htm` and `htu` naming this request, `iat`
 * within the window, a `jti`, and `ath` the token's hash. Whether the `jti` was seen before is the replay store's
 * to say (dpop-replay.ts), and whether the key is the token's the gate's (dpop-gate.ts). Throws DPOP_INVALID.
 */
export async function verifyDpopProof(proof: string, target: DpopTarget, rules: DpopProofRules): Promise<VerifiedDpopProof> {
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS], currentDate: new Date(rules.now) });
  } catch {
    throw invalid(`it must be a JWT of type dpop+jwt signed with ${DPOP_ALGORITHMS.join(', ')} by the public key in its "jwk" header`);
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as JWK;
  if ('d' in jwk) throw invalid('its "jwk" header carries a private key');
  if (payload.htm !== target.method) throw invalid(`it is for method ${String(payload.htm).slice(0, 16)}, not ${target.method}`);
  if (comparableUri(payload.htu) !== dpopTargetUri(target.uri)) throw invalid(`its "htu" is not this request's URL (${dpopTargetUri(target.uri)})`);
  if (typeof payload.iat !== 'number') throw invalid('it has no "iat"');
  if (Math.abs(payload.iat * 1000 - rules.now) > rules.windowSeconds * 1000) {
    throw invalid(`its "iat" is more than ${rules.windowSeconds}s from the broker's clock; sign a fresh proof for each request`);
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH) {
    throw invalid(`its "jti" must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  }
  if (payload.ath !== accessTokenHash(target.accessToken)) throw invalid('its "ath" is not the hash of the access token it came with');
  return {
    jti: payload.jti,
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    expiresAt: new Date((payload.iat + rules.windowSeconds) * 1000),
  };
}

/**
 * The `cnf.jkt` to bind a token to (RFC 7638 thumbprint) for a client's DPoP key, given as a JWK: its public part
 * only is read, so the client's private JWK file works too. Symmetric keys are refused: they cannot sign proofs.
 */
export async function dpopKeyThumbprint(jwk: unknown): Promise<string> {
  const kty = (jwk as { kty?: unknown } | null)?.kty;
  if (kty !== 'OKP' && kty !== 'EC' && kty !== 'RSA') throw new Error(`a DPoP key must be an OKP, EC or RSA JWK (got kty ${JSON.stringify(kty)})`);
  return calculateJwkThumbprint(jwk as JWK, 'sha256');
}
