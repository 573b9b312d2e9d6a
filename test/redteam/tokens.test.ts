import { createHmac, createPublicKey, type JsonWebKey, KeyObject, sign as signBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreAgent, revokeAgent } from '../../src/identity/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { useRedTeam } from './support.ts';

const QUERY = '{ viewer { agent } }';
const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object | string | Buffer) =>
  Buffer.from(typeof value === 'object' && !Buffer.isBuffer(value) ? JSON.stringify(value) : value).toString('base64url');

/** support-bot's claims, valid for an hour from now, with `changes` applied (`undefined` leaves a claim out). */
const claims = (changes: Record<string, unknown> = {}) => ({
  sub: 'support-bot',
  kh_kind: 'agent',
  purpose: 'customer_service',
  iss: 'keyhole',
  aud: 'keyhole-broker',
  jti: `rt-${Math.random().toString(36).slice(2)}`,
  iat: now(),
  exp: now() + HOUR,
  ...changes,
});

/** An HS256 token over `header` and `payload`, computed by hand so that any secret (even an empty one) can sign. */
function hmacToken(secret: Buffer | string, payload: object, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** An EdDSA token whose header jose would refuse to write (critical extensions, an unencoded payload). */
function signRaw(key: CryptoKey, header: Record<string, unknown>, payload: object): string {
  const body = header.b64 === false ? JSON.stringify(payload) : b64(payload);
  const signingInput = `${b64({ alg: 'EdDSA', ...header })}.${body}`;
  return `${signingInput}.${signBytes(null, Buffer.from(signingInput), KeyObject.from(key)).toString('base64url')}`;
}

const sign = (key: CryptoKey, payload: object, header: Record<string, unknown> = {}) =>
  new SignJWT(payload as Record<string, unknown>).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(key);

/** A forger's toolbox: tokens made without the issuer's key, or with it by an issuer that made a mistake. */
describe('red team: token forgery', () => {
  const rt = useRedTeam();
  let issuerKey: CryptoKey;
  let publicJwk: JWK;
  let attacker: { privateKey: CryptoKey; publicKey: CryptoKey };
  /** A server a token's jku or x5u header points at: the broker must never fetch a key from a token's say-so. */
  let keyServer: Server;
  let keyServerUrl: string;
  const keyServerHits: string[] = [];

  beforeAll(async () => {
    const stored = JSON.parse(await readFile(join(rt.kh.dataDir, 'token-keys.json'), 'utf8'));
    issuerKey = (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
    publicJwk = stored.publicJwk;
    attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    // It serves the attacker's own key: a broker that fetched it would accept the attacker's tokens.
    const served = JSON.stringify({ keys: [{ ...(await exportJWK(attacker.publicKey)), kid: 'attacker', alg: 'EdDSA' }] });
    keyServer = createServer((request, response) => {
      keyServerHits.push(request.url ?? '');
      response.setHeader('content-type', 'application/json');
      response.end(served);
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    if (keyServer) await new Promise((resolve) => keyServer.close(resolve));
  });

  /** The broker's public key in every form an HMAC verifier confused about algorithms might take as its secret. */
  const PUBLIC_KEY_FORMS: Record<string, () => Buffer | string> = {
    'its JWK as JSON': () => JSON.stringify(publicJwk),
    'its raw 32 bytes': () => Buffer.from(publicJwk.x!, 'base64url'),
    'its base64url text': () => publicJwk.x!,
    'its SPKI PEM': () => createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }),
    'its SPKI DER': () => createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' }),
  };

  const forgeries: Array<[string, string, () => Promise<string>]> = [
    ['garbage', 'TOKEN_INVALID', async () => 'not-a-jwt'],
    ['three empty parts', 'TOKEN_INVALID', async () => '..'],
    ['alg none, empty signature', 'TOKEN_INVALID', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    ['alg NoNe, no signature part', 'TOKEN_INVALID', async () => `${b64({ alg: 'NoNe' })}.${b64(claims())}`],
    [
      'alg none with a valid token’s signature',
      'TOKEN_INVALID',
      async () => `${b64({ alg: 'none' })}.${b64(claims())}.${(await rt.token('support-bot')).split('.')[2]}`,
    ],
    ...Object.entries(PUBLIC_KEY_FORMS).map(([form, secret]): [string, string, () => Promise<string>] => [
      `HS256 keyed with the broker public key, ${form}`,
      'TOKEN_INVALID',
      async () => hmacToken(secret(), claims()),
    ]),
    ['HS256 with an empty secret', 'TOKEN_INVALID', async () => hmacToken('', claims())],
    ['an attacker key embedded as jwk', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { jwk: await exportJWK(attacker.publicKey) })],
    ['an attacker key served at jku', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { jku: keyServerUrl, kid: 'attacker' })],
    ['an attacker certificate at x5u', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { x5u: keyServerUrl })],
    ['an attacker key with the broker key id', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { kid: publicJwk.kid ?? 'dev' })],
    ['kid path traversal to the key file', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { kid: '../../../token-keys.json' })],
    ['kid path traversal to /dev/null', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { kid: '../../../../../../dev/null' })],
    ['kid as SQL', 'TOKEN_INVALID', async () => sign(attacker.privateKey, claims(), { kid: "x' UNION SELECT 'k" })],
    [
      'a valid signature over other claims (sub swapped to kyc-bot)',
      'TOKEN_INVALID',
      async () => swapPayload(await rt.token('support-bot'), { sub: 'kyc-bot' }),
    ],
    ['a valid token with its signature stripped', 'TOKEN_INVALID', async () => (await rt.token('support-bot')).replace(/[^.]+$/, '')],
    ['a valid token with one signature bit flipped', 'TOKEN_INVALID', async () => flipSignatureBit(await rt.token('support-bot'))],
  ];

  // Claims only an issuer that made a mistake (or a stolen development key) would sign: each still refused.
  const mistakes: Array<[string, string, () => Promise<string>]> = [
    ['expired', 'TOKEN_EXPIRED', async () => sign(issuerKey, claims({ iat: now() - 2 * HOUR, exp: now() - HOUR }))],
    ['expired a second ago', 'TOKEN_EXPIRED', async () => sign(issuerKey, claims({ iat: now() - HOUR, exp: now() - 1 }))],
    ['not valid before an hour from now', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ nbf: now() + HOUR }))],
    ['issued an hour from now', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ iat: now() + HOUR, exp: now() + 2 * HOUR }))],
    ['living 25 hours (role maximum 24 h)', 'TOKEN_LIFETIME_EXCEEDED', async () => sign(issuerKey, claims({ exp: now() + 25 * HOUR }))],
    ['living 100 years', 'TOKEN_LIFETIME_EXCEEDED', async () => sign(issuerKey, claims({ exp: now() + 100 * 365 * 24 * HOUR }))],
    ['an exp written as a string', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ exp: String(now() + HOUR) }))],
    ['a subject that is a list', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ sub: ['support-bot'] }))],
    ['another purpose of another agent (fraud_detection)', 'PURPOSE_NOT_ALLOWED', async () => sign(issuerKey, claims({ purpose: 'fraud_detection' }))],
    ['no purpose', 'PURPOSE_NOT_ALLOWED', async () => sign(issuerKey, claims({ purpose: undefined }))],
    ['a purpose that is a list holding its own', 'PURPOSE_NOT_ALLOWED', async () => sign(issuerKey, claims({ purpose: ['customer_service'] }))],
    ['another audience', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ aud: 'keyhole-officer-api' }))],
    ['another issuer', 'TOKEN_INVALID', async () => sign(issuerKey, claims({ iss: 'https://idp.example' }))],
    ['an unknown agent', 'UNKNOWN_AGENT', async () => sign(issuerKey, claims({ sub: 'shadow-bot' }))],
    ["an officer's token", 'UNKNOWN_AGENT', async () => rt.kh.token('dpo')],
    ['an agent claiming to be an officer', 'UNKNOWN_AGENT', async () => sign(issuerKey, claims({ kh_kind: 'officer' }))],
    [
      'a critical header extension the broker does not know',
      'TOKEN_INVALID',
      async () => signRaw(issuerKey, { crit: ['x-keyhole-trust-me'], 'x-keyhole-trust-me': true }, claims()),
    ],
    ['an unencoded payload (b64: false)', 'TOKEN_INVALID', async () => signRaw(issuerKey, { b64: false, crit: ['b64'] }, claims())],
  ];

  it.each([...forgeries, ...mistakes])('refuses %s (401 %s), crediting the request to no agent', async (_, code, make) => {
    const token = await make();
    const [reply] = await rt.contained(() => rt.kh.graphql(token, QUERY), { status: 401, code });
    const [record] = await rt.audit(reply!.requestId!);
    // A forged request is never recorded as the agent's own; the claim it made is kept apart.
    expect(record!.actor_id).toBeNull();
  });

  it('accepts a token signed by hand with the issuer key and no extension: the refusals above are their headers', async () => {
    expect((await rt.kh.graphql(signRaw(issuerKey, {}, claims()), QUERY)).body.data).toEqual({ viewer: { agent: 'support-bot' } });
  });

  it('never fetched a key from a jku or x5u header', () => {
    expect(keyServerHits).toEqual([]);
  });

  it('refuses a revoked agent with a token that worked a moment before, and serves it again once restored', async () => {
    const token = await rt.token('kyc-bot');
    expect((await rt.kh.graphql(token, QUERY)).status).toBe(200);
    await revokeAgent(rt.t.db, 'kyc-bot', 'red team', 'token leaked');
    try {
      await rt.contained(() => rt.kh.graphql(token, QUERY), { status: 403, code: 'AGENT_REVOKED' }, { copies: 3 });
    } finally {
      await restoreAgent(rt.t.db, 'kyc-bot');
    }
    expect((await rt.kh.graphql(token, QUERY)).status).toBe(200);
  });

  describe('key ids against a JWKS of several keys', () => {
    let jwksBroker: TestBroker;
    let issuers: Record<'a' | 'b', { privateKey: CryptoKey; publicKey: CryptoKey }>;

    beforeAll(async () => {
      const pair = () => generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      issuers = { a: await pair(), b: await pair() };
      const ec = await generateKeyPair('ES256', { extractable: true });
      const keys = [
        { ...(await exportJWK(issuers.a.publicKey)), kid: 'a', alg: 'EdDSA', use: 'sig' },
        { ...(await exportJWK(issuers.b.publicKey)), kid: 'b', alg: 'EdDSA', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
      ];
      jwksBroker = await startTestBroker(rt.t.db, {
        dataDir: rt.kh.dataDir,
        env: { KEYHOLE_JWKS: JSON.stringify({ keys }), KEYHOLE_TOKEN_PRIVATE_KEY: await exportPKCS8(issuers.a.privateKey), KEYHOLE_TOKEN_KID: 'a' },
      });
    });
    afterAll(async () => {
      await jwksBroker?.close();
    });

    const ask = (token: string) => jwksBroker.graphql(token, QUERY);

    it('accepts a token of key a named a, as a control', async () => {
      expect((await ask(await sign(issuers.a.privateKey, claims(), { kid: 'a' }))).body.data).toEqual({ viewer: { agent: 'support-bot' } });
    });

    it.each<[string, () => Promise<string>]>([
      ['key a named b', () => sign(issuers.a.privateKey, claims(), { kid: 'b' })],
      ['an attacker key named a', () => sign(attacker.privateKey, claims(), { kid: 'a' })],
      ['an unknown kid', () => sign(issuers.a.privateKey, claims(), { kid: 'c' })],
      ['a kid traversing to the data dir', () => sign(issuers.a.privateKey, claims(), { kid: '../token-keys.json' })],
      [
        'HS256 keyed with key a’s public JWK, named a',
        async () => hmacToken(JSON.stringify(await exportJWK(issuers.a.publicKey)), claims(), { alg: 'HS256', kid: 'a' }),
      ],
      [
        'ES256 by an attacker, named after the JWKS’s EC key',
        async () => {
          const forged = await generateKeyPair('ES256');
          return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'ec' }).sign(forged.privateKey);
        },
      ],
      ['an attacker key embedded as jwk, named a', async () => sign(attacker.privateKey, claims(), { kid: 'a', jwk: await exportJWK(attacker.publicKey) })],
    ])('refuses %s', async (_, make) => {
      const token = await make();
      const [reply] = await rt.contained(() => ask(token), { status: 401, code: 'TOKEN_INVALID' });
      expect((await rt.audit(reply!.requestId!))[0]!.actor_id).toBeNull();
    });
  });
});

/** `token` with claims changed and its original header and signature kept. */
function swapPayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  return `${header}.${b64({ ...claims, ...changes })}.${signature}`;
}

/** `token` with the first bit of its signature's first byte flipped (a change that decodes to different bytes). */
function flipSignatureBit(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = Buffer.from(signature!, 'base64url');
  bytes[0]! ^= 0x80;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}
