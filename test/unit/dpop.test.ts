import { createHash, createHmac } from 'node:crypto';
import { base64url, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash, dpopChallenge, dpopKeyThumbprint, dpopTargetUri, presentedToken, verifyDpopProof } from '../../src/identity/index.ts';
import { type DpopClient, dpopClient, type ProofRequest } from '../support/dpop.ts';
import { refusalCode } from '../support/identity.ts';

const URL_ = 'https://keyhole.test/graphql';
const TOKEN = 'header.payload.signature';
const WINDOW = 60;

let client: DpopClient;
beforeAll(async () => {
  client = await dpopClient('ES256');
});

const verify = (proof: string, target: { method?: string; uri?: string; accessToken?: string } = {}, now = Date.now()) =>
  verifyDpopProof(
    proof,
    { method: target.method ?? 'POST', uri: target.uri ?? URL_, accessToken: target.accessToken ?? TOKEN },
    { windowSeconds: WINDOW, now },
  );

/** A JOSE part as it goes into a compact JWS. */
const part = (value: object) => base64url.encode(JSON.stringify(value));

/** The claims of a proof valid for this request and token, to sign with what a proof must not be signed with. */
const validClaims = () => ({ htm: 'POST', htu: URL_, iat: Math.floor(Date.now() / 1000), jti: 'forged', ath: accessTokenHash(TOKEN) });

const proofWith = (changes: Partial<ProofRequest> = {}) => client.proof({ url: URL_, token: TOKEN, ...changes });

describe('verifyDpopProof', () => {
  it('accepts a proof for this request and token, and names its key and how long its jti must stay spent', async () => {
    const proof = await proofWith({ claims: { jti: 'proof-1', iat: 1_900_000_000 } });
    const verified = await verify(proof, {}, 1_900_000_010_000);
    expect(verified).toEqual({ jti: 'proof-1', jkt: client.jkt, expiresAt: new Date((1_900_000_000 + WINDOW) * 1000) });
  });

  it.each(['EdDSA', 'ES256', 'RS256', 'PS256'] as const)('accepts %s', async (alg) => {
    const other = await dpopClient(alg);
    expect((await verify(await other.proof({ url: URL_, token: TOKEN }))).jkt).toBe(other.jkt);
  });

  it('computes ath as base64url(SHA-256(token)), the RFC 9449 example', async () => {
    // RFC 9449 §7.1: the access token "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU" has ath fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo.
    const token = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    expect(base64url.encode(createHash('sha256').update(token).digest())).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
    expect((await verify(await proofWith({ token }), { accessToken: token })).jkt).toBe(client.jkt);
  });

  const refused: Array<[string, () => Promise<string>]> = [
    ['a proof of another type (typ JWT)', () => proofWith({ header: { typ: 'JWT' } })],
    ['a proof for another method', () => proofWith({ method: 'GET' })],
    ['a proof for another path', () => proofWith({ url: 'https://keyhole.test/officer/graphql' })],
    ['a proof for another host', () => proofWith({ url: 'https://evil.test/graphql' })],
    ['a proof for another scheme', () => proofWith({ url: 'http://keyhole.test/graphql' })],
    ['a proof whose htu is no URL', () => proofWith({ claims: { htu: 'graphql' } })],
    ['a proof without htu', () => proofWith({ claims: { htu: undefined } })],
    ['a stale proof (iat 61 s ago)', () => proofWith({ claims: { iat: Math.floor(Date.now() / 1000) - WINDOW - 1 } })],
    ['a proof from the future (iat in 61 s)', () => proofWith({ claims: { iat: Math.floor(Date.now() / 1000) + WINDOW + 1 } })],
    ['a proof without iat', () => proofWith({ claims: { iat: undefined } })],
    ['a proof without jti', () => proofWith({ claims: { jti: undefined } })],
    ['a proof with an over-long jti', () => proofWith({ claims: { jti: 'x'.repeat(129) } })],
    ['a proof without ath', () => proofWith({ token: undefined })],
    ['a proof for another token (ath)', () => proofWith({ token: 'another.access.token' })],
    ['a proof without a jwk header', () => proofWith({ header: { jwk: undefined } })],
    [
      'a proof signed by another key than its jwk header names',
      async () => {
        const other = await dpopClient('ES256');
        return proofWith({ header: { jwk: other.publicJwk } });
      },
    ],
    ['a proof carrying its private key in jwk', () => proofWith({ header: { jwk: client.privateJwk } })],
    [
      'an HMAC proof (HS256, a shared secret)',
      async () => {
        const secret = Buffer.alloc(32, 7);
        const input = `${part({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: base64url.encode(secret) } })}.${part(validClaims())}`;
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
    ],
    ['an unsigned proof (alg none)', async () => `${part({ typ: 'dpop+jwt', alg: 'none', jwk: client.publicJwk })}.${part(validClaims())}.`],
    ['garbage', async () => 'not-a-proof'],
  ];
  it.each(refused)('refuses %s with DPOP_INVALID', async (_, make) => {
    expect(await refusalCode(verify(await make()))).toBe('DPOP_INVALID');
  });

  it('accepts iat anywhere within the window, either way', async () => {
    const now = Date.now();
    for (const offset of [-WINDOW + 1, 0, WINDOW - 1]) {
      const proof = await proofWith({ claims: { iat: Math.floor(now / 1000) + offset } });
      expect((await verify(proof, {}, now)).jkt).toBe(client.jkt);
    }
  });

  it('compares htu without query and fragment, after normalising case, default port and dot segments', async () => {
    for (const url of ['https://KEYHOLE.test:443/graphql', 'https://keyhole.test/x/../graphql', 'https://keyhole.test/graphql?x=1#f']) {
      expect((await verify(await proofWith({ url }), { uri: 'https://keyhole.test/graphql?query=2' })).jkt, url).toBe(client.jkt);
    }
  });
});

describe('dpopTargetUri', () => {
  it("is the request's URL without query and fragment", () => {
    expect(dpopTargetUri('http://127.0.0.1:4000/graphql?a=1#b')).toBe('http://127.0.0.1:4000/graphql');
  });

  it('behind a proxy, takes scheme, host and path prefix from the public URL and the path from the request', () => {
    expect(dpopTargetUri('http://10.0.0.5:4000/graphql?a=1', 'https://keyhole.example.com')).toBe('https://keyhole.example.com/graphql');
    expect(dpopTargetUri('http://10.0.0.5:4000/officer/graphql', 'https://example.com/keyhole/')).toBe('https://example.com/keyhole/officer/graphql');
    expect(dpopTargetUri('http://10.0.0.5:4000//evil.test/graphql', 'https://example.com/keyhole')).toBe('https://example.com/keyhole/evil.test/graphql');
  });
});

describe('the Authorization header and the challenge', () => {
  it('reads exactly one token after the Bearer or DPoP scheme, in any case, and nothing else', () => {
    const cases: Array<[string | null, ReturnType<typeof presentedToken>]> = [
      ['Bearer abc.def.ghi', { scheme: 'Bearer', token: 'abc.def.ghi' }],
      ['bearer abc', { scheme: 'Bearer', token: 'abc' }],
      ['  BEARER \t abc  ', { scheme: 'Bearer', token: 'abc' }],
      ['DPoP abc', { scheme: 'DPoP', token: 'abc' }],
      ['dpop abc', { scheme: 'DPoP', token: 'abc' }],
      ['Bearer a b', null],
      ['DPoP a b', null],
      ['Bearer ', null],
      ['DPoP', null],
      ['Bearerabc', null],
      ['Basic abc', null],
      ['x Bearer abc', null],
      ['', null],
      [null, null],
    ];
    for (const [header, presented] of cases) expect(presentedToken(header), String(header)).toEqual(presented);
  });

  it('answers DPoP refusals with the RFC 9449 §7.1 challenge and its algorithms', () => {
    expect(dpopChallenge('DPOP_INVALID')).toBe('DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256 PS256"');
    expect(dpopChallenge('DPOP_REPLAYED')).toBe('DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256 PS256"');
    expect(dpopChallenge('DPOP_REQUIRED')).toBe('DPoP error="invalid_token", algs="EdDSA ES256 RS256 PS256"');
    expect(dpopChallenge('TOKEN_INVALID')).toBeUndefined();
  });
});

describe('dpopKeyThumbprint', () => {
  it('is the RFC 7638 thumbprint of the public key, from the public or the private JWK', async () => {
    // RFC 7638 §3.1's example key and thumbprint.
    const rfcKey = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(await dpopKeyThumbprint(rfcKey)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(await dpopKeyThumbprint(client.privateJwk)).toBe(client.jkt);
  });

  it('accepts asymmetric keys and refuses a symmetric one', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    expect(await dpopKeyThumbprint(await exportJWK(privateKey))).toMatch(/^[\w-]{43}$/);
    await expect(dpopKeyThumbprint({ kty: 'oct', k: 'AAAA' })).rejects.toThrow(/OKP, EC or RSA/);
  });
});
