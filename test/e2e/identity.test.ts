import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { revokeAgent, restoreAgent } from '../../src/identity/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import type { TestBroker } from '../support/broker.ts';

const QUERY = '{ viewer { agent } }';

async function brokerSigningKey(broker: TestBroker): Promise<CryptoKey> {
  const stored = JSON.parse(await readFile(join(broker.dataDir, 'token-keys.json'), 'utf8'));
  return (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
}

function claims(sub: string, purpose: string) {
  return new SignJWT({ kh_kind: 'agent', purpose }).setSubject(sub).setIssuer('keyhole').setAudience('keyhole-broker').setJti('t-1');
}

describe.each(ENGINES)('agent identity on $engine', ({ create }) => {
  const world = useWorld(create);

  async function lastAudit() {
    const { rows } = await world.t.db.query<{ decision: string; code: string | null; actor_id: string | null; details: Record<string, unknown> }>(
      'SELECT decision, code, actor_id, details FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return rows[0]!;
  }

  it('accepts a valid token and answers as that agent', async () => {
    const reply = await world.kh.graphql(await world.kh.token('support-bot'), QUERY);
    expect(reply.body.data).toEqual({ viewer: { agent: 'support-bot' } });
    expect(await lastAudit()).toMatchObject({ decision: 'allowed', actor_id: 'support-bot' });
  });

  const refusals: Array<[string, (broker: TestBroker) => Promise<string | null>, string]> = [
    ['a missing token', async () => null, 'UNAUTHENTICATED'],
    ['garbage', async () => 'not-a-jwt', 'TOKEN_INVALID'],
    ['an expired token', async (broker) => claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA' }).setIssuedAt(1_600_000_000).setExpirationTime(1_600_000_600).sign(await brokerSigningKey(broker)), 'TOKEN_EXPIRED'],
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
      async (broker) => {
        const stored = JSON.parse(await readFile(join(broker.dataDir, 'token-keys.json'), 'utf8'));
        const secret = new TextEncoder().encode(JSON.stringify(stored.publicJwk));
        return claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret);
      },
      'TOKEN_INVALID',
    ],
    ['an unknown agent', async (broker) => claims('shadow-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(await brokerSigningKey(broker)), 'UNKNOWN_AGENT'],
    ['an unregistered purpose', async (broker) => claims('support-bot', 'marketing').setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(await brokerSigningKey(broker)), 'PURPOSE_NOT_ALLOWED'],
  ];

  it.each(refusals)('refuses %s with HTTP 401, a stable code, and an audit record', async (_, makeToken, code) => {
    const reply = await world.kh.graphql(await makeToken(world.kh), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe(code);
    expect(reply.body.data ?? null).toBeNull();
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code });
  });

  it('refuses a revoked agent everywhere at once, and serves it again once restored', async () => {
    const token = await world.kh.token('fraud-bot');
    expect((await world.kh.graphql(token, QUERY)).status).toBe(200);
    await revokeAgent(world.t.db, 'fraud-bot', 'test', 'suspected prompt injection');
    const refused = await world.kh.graphql(token, QUERY);
    expect(refused.status).toBe(403);
    expect(refused.body.errors![0]!.extensions?.code).toBe('AGENT_REVOKED');
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'AGENT_REVOKED', actor_id: 'fraud-bot' });
    await restoreAgent(world.t.db, 'fraud-bot');
    expect((await world.kh.graphql(token, QUERY)).status).toBe(200);
  });

  it('never accepts an officer token as an agent', async () => {
    const reply = await world.kh.graphql(await world.kh.token('dpo'), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe('UNKNOWN_AGENT');
  });

  it('keeps a forged token with a public JWK of the attacker out (no embedded jwk trust)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await claims('support-bot', 'customer_service').setProtectedHeader({ alg: 'EdDSA', jwk: await exportJWK(publicKey) }).setExpirationTime('1h').sign(privateKey);
    expect((await world.kh.graphql(token, QUERY)).body.errors![0]!.extensions?.code).toBe('TOKEN_INVALID');
  });
});
