import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import type { TrustedIssuer } from '../config/index.ts';

/** How long the broker waits for an issuer's discovery document or keys before it gives up on that request. */
const FETCH_TIMEOUT_MS = 5000;
/** After a failed discovery, requests wait this long before another attempt (one per broker, not one per request). */
const DISCOVERY_RETRY_MS = 5000;

/** The issuer could not be reached and no key fetched before fits the token: refused with ISSUER_UNAVAILABLE (503). */
export class IssuerUnavailable extends Error {
  constructor(issuer: string, cause: unknown) {
    super(`the identity provider ${issuer} cannot be reached (${describe(cause)}) and no key fetched from it before fits this token; retry shortly`);
    this.name = 'IssuerUnavailable';
  }
}

function describe(cause: unknown): string {
  if (cause instanceof errors.JWKSTimeout) return `no answer within ${FETCH_TIMEOUT_MS / 1000}s`;
  const error = cause as Error & { cause?: { code?: string } };
  return error.cause?.code ?? error.message;
}

/** `jwks_uri` from the issuer's OpenID Connect (or RFC 8414) discovery document, which must name the same issuer. */
async function discoverJwksUri(issuer: string): Promise<URL> {
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  const response = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`discovery answered HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: a document naming another issuer is not this issuer's (a mix-up or a hijacked path).
  if (document.issuer !== issuer) throw new Error(`discovery names issuer ${JSON.stringify(document.issuer)}, not ${issuer}`);
  if (typeof document.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
  return new URL(document.jwks_uri);
}

/**
 * One issuer's keys: jose's remote key set (cached; fetched again for an unknown kid, at most once per cooldown;
 * with a timeout), and, when the issuer cannot be reached, the keys it fetched last — so tokens signed with a
 * known key go on verifying through an outage while a token with a new kid is refused as unavailable.
 */
class IssuerKeySet {
  private remote: Promise<RemoteJWKSet> | undefined;
  private discoveryFailedAt = 0;
  private discoveryError: unknown;

  private readonly issuer: TrustedIssuer;

  constructor(issuer: TrustedIssuer) {
    this.issuer = issuer;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = await this.remoteSet();
    try {
      return await remote(header, token);
    } catch (error) {
      // jose's own errors speak about the token (no key with its kid, a key unfit for its alg) — except a timeout and
      // ERR_JOSE_GENERIC (a non-200 answer), which, like fetch's TypeError, say the provider did not answer.
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout) && error.code !== 'ERR_JOSE_GENERIC') throw error;
      const cached = remote.jwks();
      if (cached) {
        try {
          return await createLocalJWKSet(cached)(header, token);
        } catch {
          // No cached key fits: the outage decides the answer, below.
        }
      }
      throw new IssuerUnavailable(this.issuer.issuer, error);
    }
  };

  private remoteSet(): Promise<RemoteJWKSet> {
    if (this.remote) return this.remote;
    if (Date.now() - this.discoveryFailedAt < DISCOVERY_RETRY_MS) return Promise.reject(new IssuerUnavailable(this.issuer.issuer, this.discoveryError));
    const { jwksUri, keyRefreshCooldown, keysMaxAge } = this.issuer;
    this.remote = (jwksUri ? Promise.resolve(new URL(jwksUri)) : discoverJwksUri(this.issuer.issuer)).then(
      (url) => createRemoteJWKSet(url, { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: keyRefreshCooldown * 1000, cacheMaxAge: keysMaxAge * 1000 }),
      (error: unknown) => {
        this.remote = undefined;
        this.discoveryFailedAt = Date.now();
        this.discoveryError = error;
        throw new IssuerUnavailable(this.issuer.issuer, error);
      },
    );
    return this.remote;
  }
}

/**
 * Key sets by issuer and the settings that shape them, shared by every broker in the process and kept across
 * reloads of schema/issuers.yaml: the keys of an issuer whose entry did not change stay cached.
 */
const keySets = new Map<string, IssuerKeySet>();

export function issuerKeys(issuer: TrustedIssuer): JWTVerifyGetKey {
  const id = JSON.stringify([issuer.issuer, issuer.jwksUri ?? null, issuer.keyRefreshCooldown, issuer.keysMaxAge]);
  let keySet = keySets.get(id);
  if (!keySet) {
    keySet = new IssuerKeySet(issuer);
    keySets.set(id, keySet);
  }
  return keySet.getKey;
}
