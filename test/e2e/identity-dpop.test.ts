import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DpopGate, issueToken } from '../../src/identity/index.ts';
import { createPgDb } from '../../src/sql/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { keyholeCli } from '../support/cli.ts';
import { createPgliteTestDatabase, ENGINES, type TestDatabase } from '../support/databases.ts';
import { type DpopClient, dpopClient } from '../support/dpop.ts';
import { loadWorld } from '../support/fixtures.ts';
import { refusalCode } from '../support/identity.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-provider.ts';
import { projectWith } from '../support/project.ts';
import { useTwoBrokers, useWorld } from '../support/world.ts';

const ORIGIN = 'http://keyhole.test';
const QUERY = '{ viewer { agent } }';

/**
 * The shipped project with DPoP required for fraud-bot (its own requireDpop) and for analytics-bot (moved to the
 * sandbox, which requires it); support-bot and kyc-bot stay free to use bearer tokens.
 */
const dpopProject = () =>
  projectWith({
    'schema/agents.yaml': (text) =>
      text
        .replace('    maxEpsilonPerPeriod: 1\n', '    maxEpsilonPerPeriod: 1\n    requireDpop: true\n')
        .replace('    location: EU-DE\n    zone: production\n', '    location: EU-DE\n    zone: production\n    requireDpop: true\n')
        .replace('    location: US-CA\n    zone: production\n', '    location: US-CA\n    zone: sandbox\n'),
  });

interface Call {
  authorization?: string;
  dpop?: string;
  path?: string;
  query?: string;
}

interface Reply {
  status: number;
  code: string | undefined;
  challenge: string | null;
  data: Record<string, unknown> | null;
}

async function call(kh: TestBroker, { authorization, dpop, path = '/graphql', query = QUERY }: Call): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  if (dpop) headers.dpop = dpop;
  const response = await kh.broker.fetch(new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body: JSON.stringify({ query }) }));
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
  return { status: response.status, code: body.errors?.[0]?.extensions?.code, challenge: response.headers.get('www-authenticate'), data: body.data ?? null };
}

/** A token of `subject` minted by the broker's own key, bound to `client`'s key when given. */
const tokenFor = (kh: TestBroker, subject: string, client?: DpopClient) =>
  issueToken({ keys: kh.broker.tokenKeys, registry: kh.broker.config.registry, subject, dpopJkt: client?.jkt });

/** The GraphQL request a standard OAuth client (oauth4webapi) sends with a DPoP-bound token and its key pair. */
async function standardClientCall(kh: TestBroker, token: string, keyPair: CryptoKeyPair): Promise<Response> {
  return oauth.protectedResourceRequest(
    token,
    'POST',
    new URL(`${ORIGIN}/graphql`),
    new Headers({ 'content-type': 'application/json' }),
    JSON.stringify({ query: QUERY }),
    {
      DPoP: oauth.DPoP({}, keyPair),
      [oauth.allowInsecureRequests]: true,
      // yoga answers with its own Response class; oauth4webapi takes only the global one.
      [oauth.customFetch]: async (url, init) => {
        const answer = await kh.broker.fetch(new Request(url, init as RequestInit));
        return new Response(answer.body, answer);
      },
    },
  );
}

/** A request with a bound token and a fresh proof for it (changed by `proof`). */
async function boundCall(kh: TestBroker, client: DpopClient, token: string, proof: Partial<Parameters<DpopClient['proof']>[0]> = {}, path = '/graphql') {
  return call(kh, { authorization: `DPoP ${token}`, dpop: await client.proof({ url: `${ORIGIN}${path}`, token, ...proof }), path });
}

describe.each(ENGINES)('DPoP-bound tokens on $engine', ({ create }) => {
  const world = useWorld(create, dpopProject);

  async function lastAudit() {
    const { rows } = await world.t.db.query<{ decision: string; code: string | null; actor_id: string | null; details: Record<string, unknown> }>(
      'SELECT decision, code, actor_id, details FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return rows[0]!;
  }

  /** The refusal is 401 with its code and RFC 9449's challenge, and is in the audit log as claimed by `agent`. */
  async function expectRefused(reply: Reply, code: string, agent = 'support-bot') {
    expect(reply).toMatchObject({ status: 401, code, data: null });
    expect(reply.challenge).toMatch(
      code === 'DPOP_REQUIRED' ? /^DPoP error="invalid_token", algs="EdDSA ES256 RS256 PS256"/ : /^DPoP error="invalid_dpop_proof"/,
    );
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code, actor_id: null, details: { claimedAgent: agent } });
  }

  it('serves a bound token with a fresh proof of its key, once per proof', async () => {
    const client = await dpopClient('EdDSA');
    const token = await tokenFor(world.kh, 'support-bot', client);
    const proof = await client.proof({ url: `${ORIGIN}/graphql`, token });
    const served = await call(world.kh, { authorization: `DPoP ${token}`, dpop: proof });
    expect(served).toMatchObject({ status: 200, data: { viewer: { agent: 'support-bot' } } });
    expect(await lastAudit()).toMatchObject({ decision: 'allowed', actor_id: 'support-bot' });
    await expectRefused(await call(world.kh, { authorization: `DPoP ${token}`, dpop: proof }), 'DPOP_REPLAYED');
    expect((await boundCall(world.kh, client, token)).status).toBe(200);
  });

  it('keeps a proof spent when its request fails after identity', async () => {
    const client = await dpopClient();
    const token = await tokenFor(world.kh, 'support-bot', client);
    const proof = await client.proof({ url: `${ORIGIN}/graphql`, token });
    expect((await call(world.kh, { authorization: `DPoP ${token}`, dpop: proof, query: '{ no_such_table { id } }' })).status).toBe(400);
    await expectRefused(await call(world.kh, { authorization: `DPoP ${token}`, dpop: proof }), 'DPOP_REPLAYED');
  });

  it('refuses a stolen bound token without its key: no proof, as Bearer, or a proof by another key', async () => {
    const client = await dpopClient();
    const thief = await dpopClient();
    const token = await tokenFor(world.kh, 'support-bot', client);
    await expectRefused(await call(world.kh, { authorization: `DPoP ${token}` }), 'DPOP_REQUIRED');
    await expectRefused(await call(world.kh, { authorization: `Bearer ${token}` }), 'DPOP_REQUIRED');
    const proof = await client.proof({ url: `${ORIGIN}/graphql`, token });
    await expectRefused(await call(world.kh, { authorization: `Bearer ${token}`, dpop: proof }), 'DPOP_REQUIRED');
    await expectRefused(await call(world.kh, { authorization: `DPoP ${token}`, dpop: await thief.proof({ url: `${ORIGIN}/graphql`, token }) }), 'DPOP_INVALID');
  });

  it('refuses a proof for another URL or method, a stale one, one for another token, and two proofs', async () => {
    const client = await dpopClient();
    const token = await tokenFor(world.kh, 'support-bot', client);
    await expectRefused(await boundCall(world.kh, client, token, { url: `${ORIGIN}/officer/graphql` }), 'DPOP_INVALID');
    await expectRefused(await boundCall(world.kh, client, token, { url: 'https://keyhole.test/graphql' }), 'DPOP_INVALID');
    await expectRefused(await boundCall(world.kh, client, token, { method: 'GET' }), 'DPOP_INVALID');
    await expectRefused(await boundCall(world.kh, client, token, { claims: { iat: Math.floor(Date.now() / 1000) - 120 } }), 'DPOP_INVALID');
    await expectRefused(await boundCall(world.kh, client, token, { token: await tokenFor(world.kh, 'support-bot', client) }), 'DPOP_INVALID');
    const two = `${await client.proof({ url: `${ORIGIN}/graphql`, token })}, ${await client.proof({ url: `${ORIGIN}/graphql`, token })}`;
    await expectRefused(await call(world.kh, { authorization: `DPoP ${token}`, dpop: two }), 'DPOP_INVALID');
  });

  it('refuses unbound tokens of an agent, or of a zone, that requires DPoP, and serves their bound ones', async () => {
    await expectRefused(await call(world.kh, { authorization: `Bearer ${await tokenFor(world.kh, 'fraud-bot')}` }), 'DPOP_REQUIRED', 'fraud-bot');
    await expectRefused(await call(world.kh, { authorization: `Bearer ${await tokenFor(world.kh, 'analytics-bot')}` }), 'DPOP_REQUIRED', 'analytics-bot');
    const unbound = await tokenFor(world.kh, 'fraud-bot');
    await expectRefused(await call(world.kh, { authorization: `DPoP ${unbound}`, dpop: 'x' }), 'DPOP_REQUIRED', 'fraud-bot');
    const client = await dpopClient();
    for (const agent of ['fraud-bot', 'analytics-bot']) {
      const reply = await boundCall(world.kh, client, await tokenFor(world.kh, agent, client));
      expect(reply, agent).toMatchObject({ status: 200, data: { viewer: { agent } } });
    }
    // An agent no policy asks DPoP of still uses bearer tokens.
    expect((await call(world.kh, { authorization: `Bearer ${await tokenFor(world.kh, 'support-bot')}` })).status).toBe(200);
  });

  it('holds officers to their bound tokens on the officer API', async () => {
    const client = await dpopClient();
    const token = await tokenFor(world.kh, 'dpo', client);
    const officerQuery = { path: '/officer/graphql', query: '{ __typename }' };
    const asBearer = await call(world.kh, { ...officerQuery, authorization: `Bearer ${token}` });
    expect(asBearer).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'DPOP_REQUIRED', details: { claimedId: 'dpo' } });
    const proof = await client.proof({ url: `${ORIGIN}/officer/graphql`, token });
    expect(await call(world.kh, { ...officerQuery, authorization: `DPoP ${token}`, dpop: proof })).toMatchObject({
      status: 200,
      data: { __typename: 'Query' },
    });
    expect((await call(world.kh, { ...officerQuery, authorization: `DPoP ${token}`, dpop: proof })).code).toBe('DPOP_REPLAYED');
  });

  it('accepts proofs made by a standard OAuth client library (oauth4webapi)', async () => {
    const keyPair = await generateKeyPair('ES256');
    const jkt = await oauth.DPoP({}, keyPair).calculateThumbprint();
    const token = await issueToken({ keys: world.kh.broker.tokenKeys, registry: world.kh.broker.config.registry, subject: 'fraud-bot', dpopJkt: jkt });
    const response = await standardClientCall(world.kh, token, keyPair);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { viewer: { agent: 'fraud-bot' } } });
  });
});

describe('a DPoP-bound token from a real OpenID provider', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let idp: TestIssuer;

  beforeAll(async () => {
    idp = await startTestIssuer({ resource: ORIGIN });
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    // dpop.required: every token must be bound, whoever issued it and whatever agents.yaml says.
    const issuers = { issuers: [{ issuer: idp.issuer, algorithms: ['ES256'] }], dpop: { required: true } };
    kh = await startTestBroker(t.db, { env: { KEYHOLE_RESOURCE: ORIGIN, KEYHOLE_ISSUERS: JSON.stringify(issuers) } });
  });

  afterAll(async () => {
    await kh?.close();
    await t?.drop();
    await idp?.stop();
  });

  it("is served with its key's proofs, and refused as Bearer or with another key's proof", async () => {
    const keyPair = await generateKeyPair('ES256');
    const token = await idp.clientCredentialsToken('support-bot', { scope: 'purpose:customer_service', dpopKey: keyPair });
    const response = await standardClientCall(kh, token, keyPair);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { viewer: { agent: 'support-bot' } } });
    expect(await call(kh, { authorization: `Bearer ${token}` })).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
    const thief = await dpopClient('ES256');
    expect(await call(kh, { authorization: `DPoP ${token}`, dpop: await thief.proof({ url: `${ORIGIN}/graphql`, token }) })).toMatchObject({
      status: 401,
      code: 'DPOP_INVALID',
    });
  });

  it('refuses unbound tokens when the issuers file requires DPoP of every token', async () => {
    const unbound = await idp.clientCredentialsToken('support-bot', { scope: 'purpose:customer_service' });
    expect(await call(kh, { authorization: `Bearer ${unbound}` })).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
    expect(await call(kh, { authorization: `Bearer ${await tokenFor(kh, 'support-bot')}` })).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
  });
});

describe('DPoP proofs across brokers on one PostgreSQL database', () => {
  const world = useTwoBrokers(dpopProject);

  it('refuses on the other broker a proof one broker accepted', async () => {
    const [first, second] = world.brokers;
    const client = await dpopClient();
    const token = await tokenFor(first, 'fraud-bot', client);
    const proof = await client.proof({ url: `${ORIGIN}/graphql`, token });
    expect((await call(first, { authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    expect(await call(second, { authorization: `DPoP ${token}`, dpop: proof })).toMatchObject({ status: 401, code: 'DPOP_REPLAYED' });
    expect((await boundCall(second, client, token)).status).toBe(200);
  });

  it('lets exactly one of many brokers’ concurrent uses of one proof through', async () => {
    const [first, second] = world.brokers;
    const client = await dpopClient();
    const token = await tokenFor(first, 'fraud-bot', client);
    const proof = await client.proof({ url: `${ORIGIN}/graphql`, token });
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => call(i % 2 ? second : first, { authorization: `DPoP ${token}`, dpop: proof })));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    expect(replies.filter((reply) => reply.code === 'DPOP_REPLAYED')).toHaveLength(7);
  });

  it('deletes spent proofs once their window has closed, and no others', async () => {
    const db = world.t.db;
    await db.query("INSERT INTO dpop_proofs_seen VALUES ('k', 'old', now() - interval '1 minute'), ('k', 'live', now() + interval '1 minute')");
    const gate = new DpopGate({ db, windowSeconds: 60 });
    const client = await dpopClient();
    const token = await tokenFor(world.brokers[0], 'fraud-bot', client);
    await gate.check(
      new Request(`${ORIGIN}/graphql`, { method: 'POST', headers: { dpop: await client.proof({ url: `${ORIGIN}/graphql`, token }) } }),
      { scheme: 'DPoP', token },
      { holderId: 'fraud-bot', required: true },
    );
    const { rows } = await db.query<{ jti: string }>("SELECT jti FROM dpop_proofs_seen WHERE jkt = 'k' ORDER BY jti");
    expect(rows.map((row) => row.jti)).toEqual(['live']);
  });

  it('checks proofs against KEYHOLE_PUBLIC_URL behind a proxy', async () => {
    const kh = await startTestBroker(world.t.db, {
      root: await dpopProject(),
      dataDir: world.brokers[0].dataDir,
      env: { KEYHOLE_PUBLIC_URL: 'https://keyhole.example.com/api' },
    });
    try {
      const client = await dpopClient();
      const token = await tokenFor(kh, 'fraud-bot', client);
      const signedForPublic = await client.proof({ url: 'https://keyhole.example.com/api/graphql', token });
      expect((await call(kh, { authorization: `DPoP ${token}`, dpop: signedForPublic })).status).toBe(200);
      expect((await boundCall(kh, client, token)).code).toBe('DPOP_INVALID');
    } finally {
      await kh.close();
    }
  });

  it('binds a token to a key with keyhole token --dpop-jwk, said so in its --help', async () => {
    const [first] = world.brokers;
    const keyhole = keyholeCli({ ...process.env, KEYHOLE_DATA_DIR: first.dataDir, KEYHOLE_ROOT: PROJECT_ROOT, KEYHOLE_URL: '' });
    const client = await dpopClient();
    const keyFile = join(first.dataDir, 'agent-key.jwk');
    await writeFile(keyFile, JSON.stringify(client.privateJwk));
    const token = (await keyhole('token', '--agent', 'fraud-bot', '--dpop-jwk', keyFile)).stdout.trim();
    expect(decodeJwt(token).cnf).toEqual({ jkt: client.jkt });
    expect((await boundCall(first, client, token)).status).toBe(200);
    expect(await call(first, { authorization: `Bearer ${token}` })).toMatchObject({ code: 'DPOP_REQUIRED' });
    expect((await keyhole('token', '--help')).stdout).toMatch(/--dpop-jwk <file>[\s\S]*DPoP-bound token/);
    await writeFile(keyFile, JSON.stringify({ kty: 'oct', k: 'AAAA' }));
    await expect(keyhole('token', '--agent', 'fraud-bot', '--dpop-jwk', keyFile)).rejects.toThrow(/--dpop-jwk .*OKP, EC or RSA/);
  });

  it('fails closed when the database that records spent proofs is unreachable', async () => {
    const unreachable = createPgDb({ connectionString: 'postgres://postgres@127.0.0.1:1/keyhole', max: 1 });
    try {
      const gate = new DpopGate({ db: unreachable, windowSeconds: 60 });
      const client = await dpopClient();
      const token = await tokenFor(world.brokers[0], 'fraud-bot', client);
      const request = new Request(`${ORIGIN}/graphql`, { method: 'POST', headers: { dpop: await client.proof({ url: `${ORIGIN}/graphql`, token }) } });
      expect(await refusalCode(gate.check(request, { scheme: 'DPoP', token }, { holderId: 'fraud-bot', required: true }))).toBe('DATABASE_UNAVAILABLE');
    } finally {
      await unreachable.close();
    }
  });
});
