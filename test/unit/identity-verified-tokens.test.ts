import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AgentRegistry, loadProjectConfig } from '../../src/config/index.ts';
import { issueToken, loadTokenKeys, type TokenKeys, VerifiedTokens, verifyToken } from '../../src/identity/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { refusalCode } from '../support/identity.ts';

describe('verifyToken with remembered signatures', () => {
  let dataDir: string;
  let keys: TokenKeys;
  let registry: AgentRegistry;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-tokens-'));
    keys = await loadTokenKeys(dataDir, {});
    registry = (await loadProjectConfig(PROJECT_ROOT)).registry;
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));
  afterEach(() => vi.useRealTimers());

  const token = (ttlSeconds = 60) => issueToken({ keys, registry, subject: 'support-bot', ttlSeconds });

  it('remembers a verified token and answers the same principal from memory', async () => {
    const verified = new VerifiedTokens();
    const issued = await token();
    const first = await verifyToken(issued, keys, registry, verified);
    expect(verified.size).toBe(1);
    // Another key set cannot verify this token: only the remembered verification can answer.
    const otherKeys = await loadTokenKeys(await mkdtemp(join(dataDir, 'other-')), {});
    expect(await verifyToken(issued, otherKeys, registry, verified)).toEqual(first);
    expect(await refusalCode(verifyToken(issued, otherKeys, registry))).toBe('TOKEN_INVALID');
  });

  it('still refuses a remembered token once it has expired', async () => {
    const verified = new VerifiedTokens();
    const issued = await token(2);
    await verifyToken(issued, keys, registry, verified);
    vi.useFakeTimers({ now: Date.now() + 3_000, toFake: ['Date'] });
    expect(await refusalCode(verifyToken(issued, keys, registry, verified))).toBe('TOKEN_EXPIRED');
    expect(verified.size).toBe(0);
  });

  it('verifies a token that differs by one byte afresh, and refuses it', async () => {
    const verified = new VerifiedTokens();
    const issued = await token();
    await verifyToken(issued, keys, registry, verified);
    // The signature's first character carries six signature bits (its last one only two, which decoders ignore).
    const at = issued.lastIndexOf('.') + 1;
    const tampered = issued.slice(0, at) + (issued[at] === 'A' ? 'B' : 'A') + issued.slice(at + 1);
    expect(await refusalCode(verifyToken(tampered, keys, registry, verified))).toBe('TOKEN_INVALID');
  });

  it('reads the registry on every request: an agent removed from it is refused though its token is remembered', async () => {
    const verified = new VerifiedTokens();
    const issued = await token();
    await verifyToken(issued, keys, registry, verified);
    const agents = new Map(registry.agents);
    agents.delete('support-bot');
    expect(await refusalCode(verifyToken(issued, keys, { ...registry, agents }, verified))).toBe('UNKNOWN_AGENT');
  });

  it('applies the lifetime rules to a remembered token too, and remembers no token it refuses', async () => {
    const verified = new VerifiedTokens();
    const issued = await token(2 * 3600);
    await verifyToken(issued, keys, registry, verified);
    const shorter = { ...registry, tokens: { ...registry.tokens, maxLifetime: { ...registry.tokens.maxLifetime, agents: 3600 } } };
    // Only the remembered verification can answer for other keys: the lifetime rule is applied to it all the same.
    const otherKeys = await loadTokenKeys(await mkdtemp(join(dataDir, 'other-')), {});
    expect(await refusalCode(verifyToken(issued, otherKeys, shorter, verified))).toBe('TOKEN_LIFETIME_EXCEEDED');
    const refused = new VerifiedTokens();
    expect(await refusalCode(verifyToken(issued, keys, shorter, refused))).toBe('TOKEN_LIFETIME_EXCEEDED');
    expect(refused.size).toBe(0);
  });

  it('forgets a remembered token from the millisecond it expires', () => {
    const verified = new VerifiedTokens();
    verified.remember('t', { exp: 100 });
    expect(verified.get('t', 99_999)).toEqual({ exp: 100 });
    expect(verified.get('t', 100_000)).toBeUndefined();
    expect(verified.size).toBe(0);
  });

  it('holds at most its capacity, dropping the least recently used token first', async () => {
    const verified = new VerifiedTokens(2);
    const [a, b, c] = await Promise.all([token(), token(), token()]);
    await verifyToken(a!, keys, registry, verified);
    await verifyToken(b!, keys, registry, verified);
    verified.get(a!);
    await verifyToken(c!, keys, registry, verified);
    expect(verified.size).toBe(2);
    expect(verified.get(b!)).toBeUndefined();
    expect(verified.get(a!)).toBeDefined();
    expect(verified.get(c!)).toBeDefined();
  });
});
