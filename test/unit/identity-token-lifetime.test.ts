import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentRegistry, ConfigError, loadProjectConfig, type TokenRules } from '../../src/config/index.ts';
import { type IdentityError, issueToken, loadTokenKeys, parseTtl, type TokenKeys, verifyToken } from '../../src/identity/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { refusalCode } from '../support/identity.ts';
import { projectWith } from '../support/project.ts';

const HOUR = 3600;
/** A fixed clock (whole seconds), so boundaries of one second are exact. */
const NOW = 1_900_000_000;

let dataDir: string;
let keys: TokenKeys;
let registry: AgentRegistry;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'keyhole-lifetime-'));
  keys = await loadTokenKeys(dataDir, {});
  registry = (await loadProjectConfig(PROJECT_ROOT)).registry;
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function withRules(rules: Partial<TokenRules['maxLifetime']> & { clockSkew?: number }): AgentRegistry {
  const { clockSkew = registry.tokens.clockSkew, ...maxLifetime } = rules;
  return { ...registry, tokens: { ...registry.tokens, clockSkew, maxLifetime: { ...registry.tokens.maxLifetime, ...maxLifetime } } };
}

describe('token lifetime rules the broker enforces', () => {
  beforeEach(() => vi.useFakeTimers({ now: NOW * 1000, toFake: ['Date'] }));
  afterEach(() => vi.useRealTimers());

  /** A token signed with the broker's key, issued now for `lifetime` seconds unless `changes` say otherwise. */
  function signed(subject: string, lifetime: number, changes: Record<string, unknown> = {}) {
    const kind = registry.officers.has(subject) ? { kh_kind: 'officer' } : { kh_kind: 'agent', purpose: registry.agents.get(subject)!.purposes[0] };
    const claims = { ...kind, sub: subject, iss: 'keyhole', aud: 'keyhole-broker', jti: 'j-1', iat: NOW, exp: NOW + lifetime, ...changes };
    return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).sign(keys.signing!.key);
  }
  const accepts = async (token: Promise<string>, reg = registry) => (await verifyToken(await token, keys, reg)).id;
  const refuses = async (token: Promise<string>, reg = registry) => refusalCode(verifyToken(await token, keys, reg));

  it('ships the documented defaults: agents 24h, officers 8h (shorter), kyc 8h, 60s of skew, 60s for DPoP proofs', () => {
    expect(registry.tokens).toEqual({ clockSkew: 60, dpopProofWindow: 60, maxLifetime: { agents: 24 * HOUR, officers: 8 * HOUR, roles: { kyc: 8 * HOUR } } });
  });

  it('accepts exactly the maximum lifetime for each holder and refuses one second more', async () => {
    const cases: Array<[string, number]> = [
      ['support-bot', 24 * HOUR],
      ['kyc-bot', 8 * HOUR],
      ['dpo', 8 * HOUR],
    ];
    for (const [subject, max] of cases) {
      expect(await accepts(signed(subject, max))).toBe(subject);
      expect(await refuses(signed(subject, max + 1))).toBe('TOKEN_LIFETIME_EXCEEDED');
    }
  });

  it('refuses a token without iat as malformed: its lifetime cannot be measured', async () => {
    const token = new SignJWT({
      kh_kind: 'agent',
      purpose: 'customer_service',
      sub: 'support-bot',
      iss: 'keyhole',
      aud: 'keyhole-broker',
      jti: 'j-1',
      exp: NOW + HOUR,
    })
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(keys.signing!.key);
    await expect(verifyToken(await token, keys, registry)).rejects.toMatchObject({ code: 'TOKEN_INVALID', message: 'the token is not a valid Keyhole token' });
  });

  it('resolves a verified token to the registered agent or officer it names, with its purpose, id and expiry', async () => {
    const agent = await verifyToken(await signed('support-bot', HOUR), keys, registry);
    expect(agent).toEqual({
      kind: 'agent',
      id: 'support-bot',
      agent: registry.agents.get('support-bot'),
      purpose: registry.agents.get('support-bot')!.purposes[0],
      tokenId: 'j-1',
      expiresAt: new Date((NOW + HOUR) * 1000),
    });
    expect(await verifyToken(await signed('dpo', HOUR), keys, registry)).toEqual({
      kind: 'officer',
      id: 'dpo',
      officer: registry.officers.get('dpo'),
      tokenId: 'j-1',
      expiresAt: new Date((NOW + HOUR) * 1000),
    });
  });

  it('refuses an officer token naming an agent, an agent token naming an officer, and a purpose the agent lacks', async () => {
    expect(await refuses(signed('support-bot', HOUR, { kh_kind: 'officer' }))).toBe('UNKNOWN_AGENT');
    expect(await refuses(signed('dpo', HOUR, { kh_kind: 'agent', purpose: 'customer_service' }))).toBe('UNKNOWN_AGENT');
    expect(await refuses(signed('support-bot', HOUR, { purpose: 'marketing' }))).toBe('PURPOSE_NOT_ALLOWED');
    expect(await refuses(signed('support-bot', HOUR, { purpose: ['customer_service'] }))).toBe('PURPOSE_NOT_ALLOWED');
    expect(await refuses(signed('support-bot', HOUR, { purpose: undefined }))).toBe('PURPOSE_NOT_ALLOWED');
  });

  it.each(['exp', 'iat', 'sub', 'jti'])('refuses a token signed with the right key but without %s as invalid', async (claim) => {
    expect(await refuses(signed('support-bot', HOUR, { [claim]: undefined }))).toBe('TOKEN_INVALID');
  });

  it('refuses a token signed with the right key for another issuer or another audience', async () => {
    expect(await refuses(signed('support-bot', HOUR, { iss: 'someone-else' }))).toBe('TOKEN_INVALID');
    expect(await refuses(signed('support-bot', HOUR, { aud: 'another-service' }))).toBe('TOKEN_INVALID');
    expect(await refuses(signed('support-bot', HOUR, { iss: undefined }))).toBe('TOKEN_INVALID');
    expect(await refuses(signed('support-bot', HOUR, { aud: undefined }))).toBe('TOKEN_INVALID');
  });

  it('names who a refused token claimed to be, cut to 64 characters, for the audit record of the refusal', async () => {
    const claimedBy = async (token: string) => ((await verifyToken(token, keys, registry).catch((e: unknown) => e)) as IdentityError).claimedId;
    const unsigned = (await signed('support-bot', HOUR, { iss: 'someone-else' })).replace(/\.[^.]+$/, '.AAAA');
    expect(await claimedBy(unsigned)).toBe('support-bot');
    const long = 'x'.repeat(70);
    const forged = await new SignJWT({ sub: long }).setProtectedHeader({ alg: 'EdDSA' }).sign(keys.signing!.key);
    expect(await claimedBy(forged)).toBe('x'.repeat(64));
    const numeric = await new SignJWT({ sub: 7 } as unknown as Record<string, string>).setProtectedHeader({ alg: 'EdDSA' }).sign(keys.signing!.key);
    expect(await claimedBy(numeric)).toBeNull();
    expect(await claimedBy('not.a.token')).toBeNull();
    vi.setSystemTime((NOW + 2 * HOUR) * 1000);
    expect((await verifyToken(await signed('support-bot', HOUR), keys, registry).catch((e: unknown) => e)) as IdentityError).toMatchObject({
      code: 'TOKEN_EXPIRED',
      message: 'the token has expired; request a new one',
      claimedId: 'support-bot',
    });
  });

  it('tells the holder which time rule refused the token and what to do', async () => {
    const refusal = async (token: Promise<string>) => (await verifyToken(await token, keys, registry).catch((e: unknown) => e)) as IdentityError;
    expect((await refusal(signed('support-bot', 24 * HOUR + 1))).message).toBe(
      'the token lives longer than the 1d allowed for agents of role "support"; request a shorter one',
    );
    expect((await refusal(signed('dpo', 8 * HOUR + 1))).message).toBe('the token lives longer than the 8h allowed for officers; request a shorter one');
    expect(await refusal(signed('support-bot', HOUR, { iat: NOW + 3600 }))).toMatchObject({
      code: 'TOKEN_INVALID',
      message: 'the token is not a valid Keyhole token: it was issued in the future',
    });
    // Expired by the broker's own rule (no skew) while jose, allowing the skew, still accepts it.
    expect(await refusal(signed('support-bot', 0, { iat: NOW - 10, exp: NOW - 1 }))).toMatchObject({
      code: 'TOKEN_EXPIRED',
      message: 'the token has expired; request a new one',
      claimedId: 'support-bot',
    });
  });

  it('refuses a 100-year token signed with the right key', async () => {
    expect(await refuses(signed('support-bot', 100 * 365 * 24 * HOUR))).toBe('TOKEN_LIFETIME_EXCEEDED');
  });

  it('measures the lifetime from iat, so a token issued long ago cannot stretch into a long future', async () => {
    expect(await refuses(signed('support-bot', 0, { iat: NOW - 10 * HOUR, exp: NOW + 20 * HOUR }))).toBe('TOKEN_LIFETIME_EXCEEDED');
  });

  it('refuses iat and nbf further in the future than the clock skew, and accepts them within it', async () => {
    const skew = registry.tokens.clockSkew;
    expect(await accepts(signed('support-bot', HOUR, { iat: NOW + skew, exp: NOW + skew + HOUR }))).toBe('support-bot');
    expect(await refuses(signed('support-bot', HOUR, { iat: NOW + skew + 1, exp: NOW + skew + 1 + HOUR }))).toBe('TOKEN_INVALID');
    expect(await accepts(signed('support-bot', HOUR, { nbf: NOW + skew }))).toBe('support-bot');
    expect(await refuses(signed('support-bot', HOUR, { nbf: NOW + skew + 1 }))).toBe('TOKEN_INVALID');
  });

  it('takes the clock skew from the configuration', async () => {
    const early = { iat: NOW + 200, exp: NOW + 200 + HOUR };
    expect(await refuses(signed('support-bot', HOUR, early))).toBe('TOKEN_INVALID');
    expect(await accepts(signed('support-bot', HOUR, early), withRules({ clockSkew: 300 }))).toBe('support-bot');
    expect(await refuses(signed('support-bot', HOUR, { nbf: NOW + 1 }), withRules({ clockSkew: 0 }))).toBe('TOKEN_INVALID');
  });

  it('allows no skew on expiry: a token is refused from the second it expires', async () => {
    const token = await signed('support-bot', HOUR);
    expect(await accepts(Promise.resolve(token))).toBe('support-bot');
    vi.setSystemTime((NOW + HOUR) * 1000);
    expect(await refuses(Promise.resolve(token))).toBe('TOKEN_EXPIRED');
  });
});

describe('issuing tokens', () => {
  const lifetime = async (token: Promise<string>) => {
    const { iat, exp } = decodeJwt(await token);
    return exp! - iat!;
  };

  it('issues 1h by default, capped to a shorter maximum of the holder', async () => {
    expect(await lifetime(issueToken({ keys, registry, subject: 'support-bot' }))).toBe(HOUR);
    expect(await lifetime(issueToken({ keys, registry: withRules({ officers: 1800 }), subject: 'dpo' }))).toBe(1800);
  });

  it('refuses to mint a token the broker would refuse, naming the maximum and where it is set', async () => {
    expect(await lifetime(issueToken({ keys, registry, subject: 'support-bot', ttlSeconds: 24 * HOUR }))).toBe(24 * HOUR);
    await expect(issueToken({ keys, registry, subject: 'support-bot', ttlSeconds: 24 * HOUR + 1 })).rejects.toThrow(
      /at most 1d for agents of role "support" \(tokens\.maxLifetime in schema\/agents\.yaml\)/,
    );
    await expect(issueToken({ keys, registry, subject: 'kyc-bot', ttlSeconds: 9 * HOUR })).rejects.toThrow(/at most 8h for agents of role "kyc"/);
    await expect(issueToken({ keys, registry, subject: 'dpo', ttlSeconds: 9 * HOUR })).rejects.toThrow(/at most 8h for officers/);
    await expect(issueToken({ keys, registry, subject: 'dpo', ttlSeconds: 0 })).rejects.toThrow(/would be refused/);
  });

  it('mints a token only for a registered subject and one of its purposes, signed for the broker', async () => {
    const claims = decodeJwt(await issueToken({ keys, registry, subject: 'support-bot' }));
    expect(claims).toMatchObject({
      sub: 'support-bot',
      kh_kind: 'agent',
      purpose: registry.agents.get('support-bot')!.purposes[0],
      iss: 'keyhole',
      aud: 'keyhole-broker',
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodeProtectedHeader(await issueToken({ keys, registry, subject: 'support-bot' }))).toEqual({ alg: 'EdDSA', kid: keys.signing!.kid, typ: 'JWT' });
    expect(decodeJwt(await issueToken({ keys, registry, subject: 'dpo', purpose: 'ignored' }))).toMatchObject({ sub: 'dpo', kh_kind: 'officer' });
    expect(decodeJwt(await issueToken({ keys, registry, subject: 'dpo' })).purpose).toBeUndefined();
    await expect(issueToken({ keys, registry, subject: 'nobody' })).rejects.toThrow(/unknown agent or officer "nobody" \(known: .*support-bot.*dpo/);
    await expect(issueToken({ keys, registry, subject: 'support-bot', purpose: 'marketing' })).rejects.toThrow(
      /"support-bot" is not registered for purpose "marketing" \(registered: customer_service/,
    );
    await expect(issueToken({ keys: { ...keys, signing: undefined }, registry, subject: 'support-bot' })).rejects.toThrow(/no signing key/);
  });

  it('parses --ttl from 1s to 30d and refuses anything else', () => {
    expect(parseTtl('1')).toBe(1);
    expect(parseTtl('30d')).toBe(30 * 24 * HOUR);
    for (const ttl of ['0', '0h', '31d', '3650d']) expect(() => parseTtl(ttl), ttl).toThrow('--ttl must be between 1s and 30d');
    for (const ttl of ['720h1', '-5m', '1y', '']) expect(() => parseTtl(ttl), ttl).toThrow(`invalid --ttl "${ttl}": expected e.g. 900, 30m, 1h, 7d`);
  });
});

describe('production keys', () => {
  it('refuses the development key pair under NODE_ENV=production, before creating one, and says what to set', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'keyhole-prod-'));
    try {
      await expect(loadTokenKeys(emptyDir, { NODE_ENV: 'production' })).rejects.toThrow(/KEYHOLE_TOKEN_PUBLIC_KEY .*KEYHOLE_JWKS/);
      await expect(readFile(join(emptyDir, 'token-keys.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(loadTokenKeys(dataDir, { NODE_ENV: 'production' })).rejects.toThrow(join(dataDir, 'token-keys.json'));
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});

describe('token rules in schema/agents.yaml', () => {
  async function issuesFor(edit: (text: string) => string) {
    const root = await projectWith({ 'schema/agents.yaml': edit });
    try {
      const error = await loadProjectConfig(root).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      const lines = (await readFile(join(root, 'schema', 'agents.yaml'), 'utf8')).split('\n');
      return (error as ConfigError).issues.map((issue) => ({ ...issue, text: lines[issue.line - 1]!.trim() }));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  it('names file, line and field of every lifetime out of range or unreadable', async () => {
    const issues = await issuesFor((text) => text.replace('officers: 8h', 'officers: 100y').replace('agents: 24h', 'agents: 31d'));
    expect(issues.map(({ file, field, text }) => ({ file: file.endsWith('schema/agents.yaml'), field, text }))).toEqual(
      expect.arrayContaining([
        { file: true, field: 'tokens.maxLifetime.officers', text: 'officers: 100y' },
        { file: true, field: 'tokens.maxLifetime.agents', text: 'agents: 31d' },
      ]),
    );
    expect(issues[0]!.message).toMatch(/from 1m to 30d/);
  });

  it('refuses a clock skew above 5 minutes and a per-role lifetime for a role that does not exist', async () => {
    expect((await issuesFor((text) => text.replace('clockSkew: 60s', 'clockSkew: 1h')))[0]).toMatchObject({ field: 'tokens.clockSkew', text: 'clockSkew: 1h' });
    const [unknownRole] = await issuesFor((text) => text.replace('kyc: 8h', 'helpdesk: 8h'));
    expect(unknownRole).toMatchObject({
      field: 'tokens.maxLifetime.roles.helpdesk',
      message: 'unknown role "helpdesk" (expected one of: support, fraud, analytics, kyc)',
      text: 'helpdesk: 8h',
    });
  });

  it('takes the defaults when the tokens section is left out', async () => {
    const root = await projectWith({ 'schema/agents.yaml': (text) => text.replace(/^tokens:\n(?: .*\n|\n)*?(?=purposes:)/m, '') });
    try {
      expect((await loadProjectConfig(root)).registry.tokens).toEqual({
        clockSkew: 60,
        dpopProofWindow: 60,
        maxLifetime: { agents: 24 * HOUR, officers: 8 * HOUR, roles: {} },
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
