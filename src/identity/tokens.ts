import { randomUUID } from 'node:crypto';
import { decodeJwt, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { AgentDefinition, AgentRegistry, OfficerDefinition } from '../config/index.ts';
import { IdentityError } from './errors.ts';
import { TOKEN_ALG, type TokenKeys } from './signing-keys.ts';
import type { VerifiedTokens } from './verified-tokens.ts';

const ISSUER = 'keyhole';
const AUDIENCE = 'keyhole-broker';
const MAX_TTL_SECONDS = 30 * 24 * 3600;

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

/** Parses '30m', '1h', '7d' or plain seconds. */
export function parseTtl(ttl: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(ttl.trim());
  if (!match) throw new Error(`invalid --ttl "${ttl}": expected e.g. 900, 30m, 1h, 7d`);
  const seconds = Number(match[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const)[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (seconds <= 0 || seconds > MAX_TTL_SECONDS) throw new Error(`--ttl must be between 1s and 30d`);
  return seconds;
}

export interface IssueTokenOptions {
  keys: TokenKeys;
  registry: AgentRegistry;
  subject: string;
  /** Agents: one of their registered purposes (defaults to the first). Officers: ignored. */
  purpose?: string | undefined;
  ttlSeconds: number;
}

/** Signs an EdDSA JWT naming one agent and one purpose (or one officer). */
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
  return new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALG, kid: keys.signing.kid, typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
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
 * Verifies signature (EdDSA only: `alg: none` and HMAC tokens fail), issuer, audience and expiry, then
 * resolves the subject against the registry. Revocation is checked separately against the shared database.
 * With `verified`, a token whose signature verified before is not checked again until it expires.
 */
export async function verifyToken(token: string, keys: TokenKeys, registry: AgentRegistry, verified?: VerifiedTokens): Promise<Principal> {
  const known = verified?.get(token);
  if (known) return principalFor(known, registry);
  const claims = await verifiedClaims(token, keys);
  verified?.remember(token, claims);
  return principalFor(claims, registry);
}

async function verifiedClaims(token: string, keys: TokenKeys): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keys.verifyKey as Parameters<typeof jwtVerify>[1], {
      algorithms: [TOKEN_ALG],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'sub', 'jti'],
    });
    return payload;
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      throw new IdentityError('TOKEN_EXPIRED', 'the token has expired; request a new one', claimedSubject(token));
    }
    throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token', claimedSubject(token));
  }
}

/** The registered agent or officer a verified token names; the registry is read on every request, never cached. */
function principalFor(payload: JWTPayload, registry: AgentRegistry): Principal {
  const subject = String(payload.sub);
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

export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
