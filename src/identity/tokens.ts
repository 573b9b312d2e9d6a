import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import {
  type AgentDefinition,
  type AgentRegistry,
  durationSeconds,
  formatDuration,
  LONGEST_TOKEN_LIFETIME_SECONDS,
  type OfficerDefinition,
} from '../config/index.ts';
import { IdentityError } from './errors.ts';
import { TOKEN_ALG, type TokenKeys } from './signing-keys.ts';
import { checkTokenTimes, holderLabel, maxLifetimeSeconds, type TokenHolder } from './token-lifetime.ts';
import type { VerifiedTokens } from './verified-tokens.ts';

const ISSUER = 'keyhole';
const AUDIENCE = 'keyhole-broker';
const DEFAULT_TTL_SECONDS = 3600;

export interface AgentPrincipal {
  kind: 'agent';
  id: string;
  agent: AgentDefinition;
  purpose: string;
  tokenId: string;
  expiresAt: Date;
}

export interface OfficerPrincipal {
  kind: 'officer';
  id: string;
  officer: OfficerDefinition;
  tokenId: string;
  expiresAt: Date;
}

export type Principal = AgentPrincipal | OfficerPrincipal;

/** Parses '30m', '1h', '7d' or plain seconds, from 1s to 30d. */
export function parseTtl(ttl: string): number {
  const seconds = durationSeconds(ttl);
  if (seconds === undefined) throw new Error(`invalid --ttl "${ttl}": expected e.g. 900, 30m, 1h, 7d`);
  if (!(seconds > 0 && seconds <= LONGEST_TOKEN_LIFETIME_SECONDS)) throw new Error(`--ttl must be between 1s and 30d`);
  return seconds;
}

export interface IssueTokenOptions {
  keys: TokenKeys;
  registry: AgentRegistry;
  subject: string;
  /** Agents: one of their registered purposes (defaults to the first). Officers: ignored. */
  purpose?: string | undefined;
  /** Defaults to 1h, or the holder's maximum lifetime if that is shorter. */
  ttlSeconds?: number | undefined;
}

/** Signs an EdDSA JWT naming one agent and one purpose (or one officer), never longer-lived than the broker accepts. */
export async function issueToken(options: IssueTokenOptions): Promise<string> {
  const { keys, registry, subject } = options;
  if (!keys.signing) throw new Error('no signing key: set KEYHOLE_TOKEN_PRIVATE_KEY (production) or use the embedded dev keys');
  const agent = registry.agents.get(subject);
  const officer = registry.officers.get(subject);
  if (!agent && !officer) {
    const known = [...registry.agents.keys(), ...registry.officers.keys()].join(', ');
    throw new Error(`unknown agent or officer "${subject}" (known: ${known})`);
  }
  const claims: Record<string, string> = { kh_kind: agent ? 'agent' : 'officer' };
  if (agent) {
    const purpose = options.purpose ?? agent.purposes[0]!;
    if (!agent.purposes.includes(purpose)) {
      throw new Error(`"${subject}" is not registered for purpose "${purpose}" (registered: ${agent.purposes.join(', ')})`);
    }
    claims.purpose = purpose;
  }
  const holder: TokenHolder = agent ? { kind: 'agent', role: agent.role } : { kind: 'officer' };
  const max = maxLifetimeSeconds(registry.tokens, holder);
  const ttl = options.ttlSeconds ?? Math.min(DEFAULT_TTL_SECONDS, max);
  if (!(ttl > 0 && ttl <= max)) {
    throw new Error(
      `a token living ${formatDuration(ttl)} would be refused: the broker accepts at most ${formatDuration(max)} for ${holderLabel(holder)} (tokens.maxLifetime in schema/agents.yaml)`,
    );
  }
  // One clock reading for both claims, so exp − iat is exactly the lifetime checked above.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALG, kid: keys.signing.kid, typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setExpirationTime(now + ttl)
    .sign(keys.signing.key);
}

function claimedSubject(token: string): string | null {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub.slice(0, 64) : null;
  } catch {
    return null;
  }
}

/**
 * Verifies signature (EdDSA only: `alg: none` and HMAC tokens fail), issuer, audience, the required claims and
 * `nbf`, then resolves the subject against the registry and applies the time rules (expiry, `iat`, maximum
 * lifetime for the holder). Revocation is checked separately against the shared database. With `verified`, a
 * token whose signature verified before is not verified again until it expires; the registry and the time
 * rules still apply to it on every request.
 */
export async function verifyToken(token: string, keys: TokenKeys, registry: AgentRegistry, verified?: VerifiedTokens): Promise<Principal> {
  const now = Date.now();
  const remembered = verified?.get(token, now);
  const claims = remembered ?? (await verifiedClaims(token, keys, registry.tokens.clockSkew, now));
  const principal = principalFor(claims, registry);
  checkTokenTimes(claims, registry.tokens, holderOf(principal), principal.id, now);
  if (!remembered) verified?.remember(token, claims);
  return principal;
}

async function verifiedClaims(token: string, keys: TokenKeys, clockSkew: number, now: number): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keys.verifyKey as Parameters<typeof jwtVerify>[1], {
      algorithms: [TOKEN_ALG],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      // Lets `nbf` run this far ahead; checkTokenTimes judges expiry again without it, and `iat` and the lifetime.
      clockTolerance: clockSkew,
      currentDate: new Date(now),
    });
    return payload;
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      throw new IdentityError('TOKEN_EXPIRED', 'the token has expired; request a new one', claimedSubject(token));
    }
    throw new IdentityError('TOKEN_INVALID', unheldKeyMessage(token, keys) ?? 'the token is not a valid Keyhole token', claimedSubject(token));
  }
}

/**
 * A token signed with a key the broker does not hold is the developer's commonest first mistake (a token minted
 * against another data dir), so the refusal names the token's key id and the broker's. Key ids are public
 * (a JWKS publishes them); the token's is cut short and kept printable, as it is the caller's text.
 */
function unheldKeyMessage(token: string, keys: TokenKeys): string | null {
  if (!keys.kids || keys.kids.length === 0) return null;
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return null;
  }
  if (typeof kid !== 'string' || keys.kids.includes(kid)) return null;
  const named = kid.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
  const held = keys.kids.map((k) => `"${k}"`).join(', ');
  return `the token was signed with key "${named}", which this broker does not hold (it verifies with ${held}); mint it with one of those (a development key pair: keyhole token with the broker's KEYHOLE_DATA_DIR)`;
}

/** The registered agent or officer a verified token names; the registry is read on every request, never cached. */
function principalFor(payload: JWTPayload, registry: AgentRegistry): Principal {
  // RFC 7519 makes `sub` a string; jose leaves it unchecked, and String(['support-bot']) would name that agent.
  if (typeof payload.sub !== 'string') throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token: its subject is not a string');
  const subject = payload.sub;
  const base = { id: subject, tokenId: String(payload.jti), expiresAt: new Date(Number(payload.exp) * 1000) };
  if (payload.kh_kind === 'officer') {
    const officer = registry.officers.get(subject);
    if (!officer) throw new IdentityError('UNKNOWN_AGENT', `"${subject}" is not a registered officer`, subject);
    return { kind: 'officer', officer, ...base };
  }
  const agent = registry.agents.get(subject);
  if (!agent) throw new IdentityError('UNKNOWN_AGENT', `"${subject}" is not a registered agent`, subject);
  const purpose = typeof payload.purpose === 'string' ? payload.purpose : '';
  if (!agent.purposes.includes(purpose)) {
    throw new IdentityError('PURPOSE_NOT_ALLOWED', `agent "${subject}" is not registered for purpose "${purpose}"`, subject);
  }
  return { kind: 'agent', agent, purpose, ...base };
}

function holderOf(principal: Principal): TokenHolder {
  return principal.kind === 'agent' ? { kind: 'agent', role: principal.agent.role } : { kind: 'officer' };
}

export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
