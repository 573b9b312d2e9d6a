import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeAgent, restoreAgent } from '../../src/identity/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';

const QUERY = '{ viewer { agent } }';

async function brokerSigningKey(kh: TestBroker): Promise<CryptoKey> {
  const stored = JSON.parse(await readFile(join(kh.dataDir, 'token-keys.json'), 'utf8'));
  return (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
}

function claims(sub: string, purpose: string) {
  return new SignJWT({ kh_kind: 'agent', purpose }).setSubject(sub).setIssuer('keyhole').setAudience('keyhole-broker').setJti('t-1');
}

describe.each(ENGINES)('agent identity on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  async function lastAudit() {
    const { rows } = await t.db.query<{ decision: string; code: string | null; actor_id: string | null; details: Record<string, unknown> }>(
      'SELECT decision, code, actor_id, details FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return rows[0]!;
  }

  it('accepts a valid token and answers as that agent', async () => {
    const reply = await kh.graphql(await kh.token('support-bot'), QUERY);
    expect(reply.body.data).toEqual({ viewer: { agent: 'support-bot' } });
    expect(await lastAudit()).toMatchObject({ decision: 'allowed', actor_id: 'support-bot' });
  });

  const refusals: Array<[string, (kh: TestBroker) => Promise<string | null>, string]> = [
    ['a missing token', async () => null, 'UNAUTHENTICATED'],
    ['garbage', async () => 'not-a-jwt', 'TOKEN_INVALID'],
    ['an expired token', async (kh) => claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA' }).setIssuedAt(1_600_000_000).setExpirationTime(1_600_000_600).sign(await brokerSigningKey(kh)), 'TOKEN_EXPIRED'],
    [
      'a token signed by another key',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(privateKey);
      },
      'TOKEN_INVALID',
    ],
    [
      'an alg:none token',
      async () => {
        const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'support-bot', kh_kind: 'agent', purpose: 'customer_service', iss: 'keyhole', aud: 'keyhole-broker', exp: now + 3600, jti: 'x' })}.`;
      },
      'TOKEN_INVALID',
    ],
    [
      'an HMAC token using the public key as secret',
      async (kh) => {
        const stored = JSON.parse(await readFile(join(kh.dataDir, 'token-keys.json'), 'utf8'));
        const secret = new TextEncoder().encode(JSON.stringify(stored.publicJwk));
        return claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret);
      },
      'TOKEN_INVALID',
    ],
    ['an unknown agent', async (kh) => claims('shadow-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(await brokerSigningKey(kh)), 'UNKNOWN_AGENT'],
    ['an unregistered purpose', async (kh) => claims('support-bot', 'marketing').setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(await brokerSigningKey(kh)), 'PURPOSE_NOT_ALLOWED'],
  ];

  it.each(refusals)('refuses %s with HTTP 401, a stable code, and an audit record', async (_, makeToken, code) => {
    const reply = await kh.graphql(await makeToken(kh), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe(code);
    expect(reply.body.data ?? null).toBeNull();
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code });
  });

  it('refuses a revoked agent everywhere at once, and serves it again once restored', async () => {
    const token = await kh.token('fraud-bot');
    expect((await kh.graphql(token, QUERY)).status).toBe(200);
    await revokeAgent(t.db, 'fraud-bot', 'test', 'suspected prompt injection');
    const refused = await kh.graphql(token, QUERY);
    expect(refused.status).toBe(403);
    expect(refused.body.errors![0]!.extensions?.code).toBe('AGENT_REVOKED');
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'AGENT_REVOKED', actor_id: 'fraud-bot' });
    await restoreAgent(t.db, 'fraud-bot');
    expect((await kh.graphql(token, QUERY)).status).toBe(200);
  });

  it('never accepts an officer token as an agent', async () => {
    const reply = await kh.graphql(await kh.token('dpo'), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe('UNKNOWN_AGENT');
  });

  it('keeps a forged token with a public JWK of the attacker out (no embedded jwk trust)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA', jwk: await exportJWK(publicKey) }).setExpirationTime('1h').sign(privateKey);
    expect((await kh.graphql(token, QUERY)).body.errors![0]!.extensions?.code).toBe('TOKEN_INVALID');
  });
});
