import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { revokeAgent, restoreAgent } from '../../src/identity/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';

const QUERY = '{ viewer { agent } }';

async function brokerSigningKey(broker: TestBroker): Promise<CryptoKey> {
  const stored = JSON.parse(await readFile(join(broker.dataDir, 'token-keys.json'), 'utf8'));
  return (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
}

function claims(sub: string, purpose: string) {
  return new SignJWT({ kh_kind: 'agent', purpose }).setSubject(sub).setIssuer('keyhole').setAudience('keyhole-broker').setJti('t-1').setIssuedAt();
}

const DAY = 24 * 3600;

/** Valid claims of support-bot, issued now for an hour, with `changes` applied (`undefined` leaves a claim out). */
function supportBotClaims(changes: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    sub: 'support-bot',
    kh_kind: 'agent',
    purpose: 'customer_service',
    iss: 'keyhole',
    aud: 'keyhole-broker',
    jti: 't-2',
    iat,
    exp: iat + 3600,
    ...changes,
  };
}

/** A token the broker's own key signs: only its claims can make it fail. */
async function signedByBroker(broker: TestBroker, changes: Record<string, unknown>): Promise<string> {
  return new SignJWT(supportBotClaims(changes)).setProtectedHeader({ alg: 'EdDSA' }).sign(await brokerSigningKey(broker));
}

const now = () => Math.floor(Date.now() / 1000);

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
    [
      'an expired token',
      async (broker) =>
        claims('support-bot', 'customer_service')
          .setProtectedHeader({ alg: 'EdDSA' })
          .setIssuedAt(1_600_000_000)
          .setExpirationTime(1_600_000_600)
          .sign(await brokerSigningKey(broker)),
      'TOKEN_EXPIRED',
    ],
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
    [
      'an unknown agent',
      async (broker) =>
        claims('shadow-bot', 'customer_service')
          .setProtectedHeader({ alg: 'EdDSA' })
          .setExpirationTime('1h')
          .sign(await brokerSigningKey(broker)),
      'UNKNOWN_AGENT',
    ],
    [
      'an unregistered purpose',
      async (broker) =>
        claims('support-bot', 'marketing')
          .setProtectedHeader({ alg: 'EdDSA' })
          .setExpirationTime('1h')
          .sign(await brokerSigningKey(broker)),
      'PURPOSE_NOT_ALLOWED',
    ],
    ...(['exp', 'iat', 'sub', 'jti'] as const).map((claim): (typeof refusals)[number] => [
      `a signed token without ${claim}`,
      (broker) => signedByBroker(broker, { [claim]: undefined }),
      'TOKEN_INVALID',
    ]),
    ['a signed token of another issuer', (broker) => signedByBroker(broker, { iss: 'someone-else' }), 'TOKEN_INVALID'],
    ['a signed token for another audience', (broker) => signedByBroker(broker, { aud: 'another-service' }), 'TOKEN_INVALID'],
    ['a signed token valid for 100 years', (broker) => signedByBroker(broker, { exp: now() + 100 * 365 * DAY }), 'TOKEN_LIFETIME_EXCEEDED'],
    ["a signed token living one second more than its role's 24h", (broker) => signedByBroker(broker, { exp: now() + DAY + 1 }), 'TOKEN_LIFETIME_EXCEEDED'],
    ['a signed token not valid before an hour from now', (broker) => signedByBroker(broker, { nbf: now() + 3600 }), 'TOKEN_INVALID'],
    ['a signed token issued an hour from now', (broker) => signedByBroker(broker, { iat: now() + 3600, exp: now() + 7200 }), 'TOKEN_INVALID'],
  ];

  it.each(refusals)('refuses %s with HTTP 401, a stable code, and an audit record', async (_, makeToken, code) => {
    const reply = await world.kh.graphql(await makeToken(world.kh), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe(code);
    expect(reply.body.data ?? null).toBeNull();
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code });
  });

  it("accepts a signed token living exactly its role's 24h maximum", async () => {
    const reply = await world.kh.graphql(await signedByBroker(world.kh, { exp: now() + DAY }), QUERY);
    expect(reply.body.data).toEqual({ viewer: { agent: 'support-bot' } });
  });

  it('refuses to start under NODE_ENV=production on the development key pair, and starts on a configured key', async () => {
    const production = { NODE_ENV: 'production' };
    await expect(startTestBroker(world.t.db, { env: production, dataDir: world.kh.dataDir })).rejects.toThrow(
      /development key pair in .*token-keys\.json.*KEYHOLE_TOKEN_PUBLIC_KEY.*KEYHOLE_JWKS/,
    );
    const issuer = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kh = await startTestBroker(world.t.db, {
      env: {
        ...production,
        KEYHOLE_TOKEN_PUBLIC_KEY: await exportSPKI(issuer.publicKey),
        KEYHOLE_TOKEN_PRIVATE_KEY: await exportPKCS8(issuer.privateKey),
        // Production also refuses to sign audit checkpoints with a key made in the data dir.
        KEYHOLE_CHECKPOINT_PRIVATE_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
      dataDir: world.kh.dataDir,
    });
    try {
      expect((await kh.graphql(await kh.token('support-bot'), QUERY)).body.data).toEqual({ viewer: { agent: 'support-bot' } });
      // The development key pair is still in the data dir, and no longer opens anything.
      expect((await kh.graphql(await signedByBroker(kh, {}), QUERY)).body.errors![0]!.extensions?.code).toBe('TOKEN_INVALID');
    } finally {
      await kh.close();
    }
  });

  it('refuses a revoked agent everywhere at once, and serves it again once restored', async () => {
    const token = await world.kh.token('fraud-bot');
    const rows = '{ transactions(limit: 5) { id amount } }';
    expect((await world.kh.graphql(token, rows)).status).toBe(200);
    await revokeAgent(world.t.db, 'fraud-bot', 'test', 'suspected prompt injection');
    // The first request after the revocation ran, but its record's commit found the revocation: no data left.
    const refused = await world.kh.graphql(token, rows);
    expect(refused.status).toBe(403);
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors![0]!.extensions?.code).toBe('AGENT_REVOKED');
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'AGENT_REVOKED', actor_id: 'fraud-bot' });
    const denial = (
      await world.t.db.query<{ row_count: number; subject_count: number; fields: unknown[] }>(
        'SELECT row_count, subject_count, fields FROM audit_log ORDER BY seq DESC LIMIT 1',
      )
    ).rows[0]!;
    expect(denial).toEqual({ row_count: 0, subject_count: 0, fields: [] });
    // Now known to be revoked, it is refused before its request runs: not even its query is looked at.
    const upFront = await world.kh.graphql(token, '{ no_such_table { id } }');
    expect(upFront.status).toBe(403);
    expect(upFront.body.errors![0]!.extensions?.code).toBe('AGENT_REVOKED');
    await restoreAgent(world.t.db, 'fraud-bot');
    expect((await world.kh.graphql(token, rows)).status).toBe(200);
    expect((await world.kh.graphql(token, '{ no_such_table { id } }')).status).toBe(400);
  });

  it('refuses only the revoked agent among concurrent requests whose records share a batch', async () => {
    const [revoked, other] = await Promise.all([world.kh.token('fraud-bot'), world.kh.token('support-bot')]);
    await revokeAgent(world.t.db, 'fraud-bot', 'test', 'batch neighbour');
    try {
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 2 === 0 ? world.kh.graphql(revoked, '{ transactions(limit: 2) { id } }') : world.kh.graphql(other, '{ customers(limit: 2) { id } }'),
        ),
      );
      expect(replies.map((reply) => reply.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 403 : 200)));
      expect(replies.filter((_, i) => i % 2 === 0).every((reply) => reply.body.data == null)).toBe(true);
      expect(replies.filter((_, i) => i % 2 === 1).every((reply) => (reply.body.data!.customers as unknown[]).length === 2)).toBe(true);
    } finally {
      await restoreAgent(world.t.db, 'fraud-bot');
    }
  });

  it('refuses a DP aggregate of an agent revoked meanwhile and spends nothing', async () => {
    const spent = async () =>
      Number(
        (await world.t.db.query<{ e: number | null }>("SELECT sum(pure_epsilon) AS e FROM dp_budget WHERE scope = 'agent:analytics-bot'")).rows[0]?.e ?? 0,
      );
    const token = await world.kh.token('analytics-bot');
    const aggregate = (i: number) =>
      world.kh.graphql(token, `{ customers_aggregate(epsilon: 0.5, where: { segment: { ne: "r${i}" } }) { groups { count { value } } } }`);
    expect((await aggregate(1)).status).toBe(200);
    const before = await spent();
    expect(before).toBeGreaterThan(0);
    await revokeAgent(world.t.db, 'analytics-bot', 'test', 'budget abuse');
    try {
      const refused = await aggregate(2);
      expect(refused.status).toBe(403);
      expect(refused.body.errors![0]!.extensions?.code).toBe('AGENT_REVOKED');
      expect(await spent()).toBe(before);
      expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'AGENT_REVOKED', actor_id: 'analytics-bot' });
    } finally {
      await restoreAgent(world.t.db, 'analytics-bot');
    }
  });

  it('never accepts an officer token as an agent', async () => {
    const reply = await world.kh.graphql(await world.kh.token('dpo'), QUERY);
    expect(reply.status).toBe(401);
    expect(reply.body.errors![0]!.extensions?.code).toBe('UNKNOWN_AGENT');
  });

  it('keeps a forged token with a public JWK of the attacker out (no embedded jwk trust)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await claims('support-bot', 'customer_service')
      .setProtectedHeader({ alg: 'EdDSA', jwk: await exportJWK(publicKey) })
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await world.kh.graphql(token, QUERY)).body.errors![0]!.extensions?.code).toBe('TOKEN_INVALID');
  });
});
