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
import { trustedIssuerOf, verifiedIssuerClaims } from './issuer-tokens.ts';
import { TOKEN_ALG, type TokenKeys } from './signing-keys.ts';
import { checkTokenTimes, holderLabel, maxLifetimeSeconds, type TokenHolder } from './token-lifetime.ts';
import type { VerifiedTokens } from './verified-tokens.ts';
import type { ClaimValue, Person } from '../policy/delegation.ts';

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
  /** A delegated token (RFC 8693): the person this agent acts for, the token's `sub` (the agent is its `act.sub`). */
  onBehalfOf?: Person;
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
  /** A delegated token for an agent: `sub` this person, `act: { sub: agent }`, the person's claims beside them. */
  onBehalfOf?: { id: string; claims?: Readonly<Record<string, ClaimValue>> } | undefined;
  /** Binds the token to a DPoP key (RFC 9449 §6.1): `cnf.jkt`, the key's JWK SHA-256 thumbprint (see dpopKeyThumbprint). */
  dpopJkt?: string | undefined;
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
  const claims: Record<string, unknown> = { kh_kind: agent ? 'agent' : 'officer' };
  if (agent) {
    const purpose = options.purpose ?? agent.purposes[0]!;
    if (!agent.purposes.includes(purpose)) {
      throw new Error(`"${subject}" is not registered for purpose "${purpose}" (registered: ${agent.purposes.join(', ')})`);
    }
    claims.purpose = purpose;
  }
  const person = options.onBehalfOf;
  if (person) {
    if (!agent) throw new Error(`"${subject}" is an officer: only an agent can act for a person`);
    for (const claim of Object.keys(person.claims ?? {})) {
      if (RESERVED_CLAIMS.has(claim)) throw new Error(`--claim ${claim} is reserved: it is a claim of the token itself, not of the person`);
    }
    Object.assign(claims, person.claims, { act: { sub: subject } });
  }
  if (options.dpopJkt) claims.cnf = { jkt: options.dpopJkt };
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
    .setSubject(person ? person.id : subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setExpirationTime(now + ttl)
    .sign(keys.signing.key);
}

function claimedSubject(token: string): string | null {
  try {
    const payload = decodeJwt(token);
    const sub = actorOf(payload) ?? payload.sub;
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
  const claims = remembered ?? (await claimsOf(token, keys, registry, now));
  const principal = principalFor(claims, registry);
  checkTokenTimes(claims, registry.tokens, holderOf(principal), principal.id, now);
  if (!remembered) verified?.remember(token, claims);
  return principal;
}

/** A trusted issuer's token (its `iss` names one, schema/issuers.yaml) or else one signed with the broker's own keys. */
async function claimsOf(token: string, keys: TokenKeys, registry: AgentRegistry, now: number): Promise<JWTPayload> {
  let claimedIssuer: unknown;
  try {
    claimedIssuer = decodeJwt(token).iss;
  } catch {
    claimedIssuer = undefined;
  }
  const issuer = trustedIssuerOf(claimedIssuer, registry.issuers);
  if (issuer) return verifiedIssuerClaims(token, issuer, claimedSubject(token), now);
  const trusted = [...registry.issuers.byIssuer.keys()];
  if (trusted.length > 0 && typeof claimedIssuer === 'string' && claimedIssuer !== ISSUER) {
    const named = claimedIssuer.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
    throw new IdentityError('TOKEN_INVALID', `the token's issuer "${named}" is not a trusted issuer (trusted: ${trusted.join(', ')})`, claimedSubject(token));
  }
  return verifiedClaims(token, keys, registry.tokens.clockSkew, now);
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

/**
 * Claims of the token itself (RFC 7519, 8693, 9449, OpenID Connect, Keyhole's own): never taken for the person's.
 */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'act',
  'may_act',
  'cnf',
  'scope',
  'client_id',
  'azp',
  'purpose',
  'kh_kind',
  'auth_time',
  'nonce',
  'at_hash',
  'sid',
]);
/** Bounds on what of a person's claims a principal keeps: a token is the caller's text. */
const MAX_PERSON_CLAIMS = 32;
const MAX_CLAIM_ITEMS = 1_000;
const MAX_CLAIM_CHARS = 256;

/** The current actor of a delegated token (RFC 8693 §4.1: the outermost `act`), or undefined for an ordinary one. */
function actorOf(payload: JWTPayload): string | undefined {
  const act = payload.act;
  if (act === undefined) return undefined;
  const sub = typeof act === 'object' && act !== null && !Array.isArray(act) ? (act as { sub?: unknown }).sub : undefined;
  if (typeof sub !== 'string') throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token: its act claim names no actor (act.sub)');
  return sub;
}

const simpleValue = (value: unknown): value is string | number | boolean =>
  (typeof value === 'string' && value.length <= MAX_CLAIM_CHARS) || typeof value === 'number' || typeof value === 'boolean';

/**
 * The person's claims a delegated token carries: scalars and lists of scalars beside the token's own claims,
 * bounded. Which of them matter is the policy's to say (policy/delegation.ts keeps only the ones it names).
 */
function personClaims(payload: JWTPayload): Record<string, ClaimValue> {
  const claims: Record<string, ClaimValue> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (RESERVED_CLAIMS.has(name)) continue;
    const kept = Array.isArray(value) ? value.length <= MAX_CLAIM_ITEMS && value.every(simpleValue) : simpleValue(value);
    if (!kept) continue;
    if (Object.keys(claims).length === MAX_PERSON_CLAIMS) {
      throw new IdentityError('TOKEN_INVALID', `the token is not a valid Keyhole token: it carries more than ${MAX_PERSON_CLAIMS} claims of the person`);
    }
    claims[name] = value as ClaimValue;
  }
  return claims;
}

/** The registered agent or officer a verified token names; the registry is read on every request, never cached. */
function principalFor(payload: JWTPayload, registry: AgentRegistry): Principal {
  // RFC 7519 makes `sub` a string; jose leaves it unchecked, and String(['support-bot']) would name that agent.
  if (typeof payload.sub !== 'string') throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token: its subject is not a string');
  const actor = actorOf(payload);
  const subject = actor ?? payload.sub;
  const base = { id: subject, tokenId: String(payload.jti), expiresAt: new Date(Number(payload.exp) * 1000) };
  if (actor !== undefined && payload.kh_kind === 'officer') {
    throw new IdentityError('TOKEN_INVALID', 'the token is not a valid Keyhole token: an officer token cannot act for someone', subject);
  }
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
  if (actor !== undefined && payload.sub.length > MAX_CLAIM_CHARS) {
    throw new IdentityError(
      'TOKEN_INVALID',
      `the token is not a valid Keyhole token: the person it names is longer than ${MAX_CLAIM_CHARS} characters`,
      subject,
    );
  }
  const onBehalfOf = actor === undefined ? undefined : { id: payload.sub, claims: personClaims(payload) };
  return { kind: 'agent', agent, purpose, ...base, ...(onBehalfOf ? { onBehalfOf } : {}) };
}

function holderOf(principal: Principal): TokenHolder {
  return principal.kind === 'agent' ? { kind: 'agent', role: principal.agent.role } : { kind: 'officer' };
}
