import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { corsOriginsFrom } from '../../src/graphql/index.ts';
import { revokeAgent } from '../../src/identity/index.ts';
import { ENGINES } from '../support/databases.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { useWorld } from '../support/world.ts';

const QUERY = JSON.stringify({ query: '{ __typename }' });
const APOLLO_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';
const GRAPHQL_PATHS = new Set(['/graphql', '/officer/graphql']);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Paths yoga would serve as its endpoint (or that look like one), next to the two real ones. */
const PATHS = [
  '/graphql',
  '/graphql?x=1',
  '/graphql/',
  '//graphql',
  '/GRAPHQL',
  '/graphql/x',
  '/x/graphql',
  '/graphql%2F',
  '/graphql/?query={__typename}',
  '/?next=/graphql',
  '/graphql/health',
  '/health',
  '/officer/health',
  '/officer/graphql',
  '/officer/graphql?x=1',
  '/officer/graphql/',
  '//officer/graphql',
  '/officer/x/graphql',
  '/x/officer/graphql',
];

/** Whether the path is one of the two GraphQL endpoints: exact path, any query string. */
function isGraphQLPath(path: string): boolean {
  return GRAPHQL_PATHS.has(new URL(`http://keyhole.test${path}`).pathname);
}

function errorBody(code: string) {
  return { errors: [{ message: expect.any(String), extensions: { code } }], extensions: { requestId: expect.any(String) } };
}

function corsHeaders(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
}

async function expiredToken(kh: TestBroker): Promise<string> {
  const stored = JSON.parse(await readFile(join(kh.dataDir, 'token-keys.json'), 'utf8'));
  const key = (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
  return new SignJWT({ kh_kind: 'agent', purpose: 'customer_service' })
    .setSubject('support-bot')
    .setIssuer('keyhole')
    .setAudience('keyhole-broker')
    .setJti('expired-1')
    .setProtectedHeader({ alg: 'EdDSA' })
    .setIssuedAt(1_600_000_000)
    .setExpirationTime(1_600_000_600)
    .sign(key);
}

describe.each(ENGINES)('one GraphQL-over-HTTP contract on both endpoints, on $engine', ({ create }) => {
  const world = useWorld(create);
  let support: string;
  let dpo: string;
  const send = (path: string, init: RequestInit = {}) => world.kh.broker.fetch(new Request(`http://keyhole.test${path}`, init));
  const records = async () => Number((await world.t.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log')).rows[0]!.n);
  const lastRecord = async () =>
    (await world.t.db.query<{ code: string | null; actor_id: string | null }>('SELECT code, actor_id FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;
  const post = (path: string, token: string | null, body: string, headers: Record<string, string> = {}) =>
    send(path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });

  beforeAll(async () => {
    support = await world.kh.token('support-bot');
    dpo = await world.kh.token('dpo');
  });

  it.each(PATHS)('%s: every method answers 2xx/4xx; GraphQL answers only on the exact path, each with one audit record', async (path) => {
    const token = path.includes('officer') ? dpo : support;
    const graphql = isGraphQLPath(path);
    for (const method of METHODS) {
      const withBody = method !== 'GET' && method !== 'HEAD';
      const before = await records();
      const response = await send(path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(withBody ? { 'content-type': 'application/json' } : {}) },
        ...(withBody ? { body: QUERY } : {}),
      });
      const what = `${method} ${path} answered ${response.status}`;
      expect(response.status, what).toBeLessThan(500);
      expect(response.status, what).toBeGreaterThanOrEqual(200);
      // The agents' endpoint answers CORS preflights, which are no GraphQL request; the officers' endpoint has no
      // CORS, so an OPTIONS there is one more refused method. Every GraphQL request is recorded.
      const preflight = method === 'OPTIONS' && !path.includes('officer');
      expect(await records(), `${what}: audit records`).toBe(before + (graphql && !preflight ? 1 : 0));
      if (graphql) continue;
      expect(response.status, what).toBe(404);
      // The same JSON 404 everywhere, from the dashboard's file server under /officer/ and the agents' server elsewhere.
      expect(await response.json(), what).toEqual(errorBody('NOT_FOUND'));
    }
  });

  it('answers a JSON POST on the exact paths, the query string ignored', async () => {
    for (const [path, token] of [
      ['/graphql?x=1', support],
      ['/officer/graphql?x=1', dpo],
    ] as const) {
      const response = await post(path, token, QUERY);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { __typename: 'Query' }, extensions: { requestId: response.headers.get('x-request-id') } });
    }
  });

  it('answers yoga-served paths over a real HTTP listener with 404 too (the Node adapter builds its own URL)', async () => {
    const server: Server = createServer(world.kh.broker.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (const path of ['//graphql', '/graphql/', '/x/graphql', '//officer/graphql']) {
        const before = await records();
        const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const request = httpRequest(
            { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${support}` } },
            (response) => {
              let body = '';
              response.on('data', (chunk) => (body += chunk));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
            },
          );
          request.on('error', reject);
          request.end(QUERY);
        });
        expect(status, path).toBe(404);
        expect(JSON.parse(body), path).toEqual(errorBody('NOT_FOUND'));
        expect(await records(), path).toBe(before);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('refusals made before GraphQL honour Accept, in one body shape', () => {
    const ACCEPTS: Array<[string | null, string]> = [
      [APOLLO_ACCEPT, 'application/graphql-response+json'],
      ['application/graphql-response+json', 'application/graphql-response+json'],
      ['application/json', 'application/json'],
      ['application/json, application/graphql-response+json', 'application/json'],
      ['application/graphql-response+json;q=0, application/json', 'application/json'],
      ['*/*', 'application/json'],
      [null, 'application/json'],
      ['text/html', 'application/json'],
    ];
    const refusals: Array<[string, number, string, () => Promise<RequestInit & { path: string }>]> = [
      ['no token', 401, 'UNAUTHENTICATED', async () => ({ path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY })],
      [
        'an expired token',
        401,
        'TOKEN_EXPIRED',
        async () => ({
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await expiredToken(world.kh)}` },
          body: QUERY,
        }),
      ],
      [
        'an agent on the officer API',
        403,
        'NOT_AN_OFFICER',
        async () => ({
          path: '/officer/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${support}` },
          body: QUERY,
        }),
      ],
      [
        'no officer token',
        401,
        'UNAUTHENTICATED',
        async () => ({ path: '/officer/graphql', method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY }),
      ],
      [
        'a GET',
        405,
        'METHOD_NOT_ALLOWED',
        async () => ({ path: '/graphql?query={__typename}', method: 'GET', headers: { authorization: `Bearer ${support}` } }),
      ],
      [
        'a form post',
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        async () => ({
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${support}` },
          body: 'query={__typename}',
        }),
      ],
      [
        'an officer GET',
        405,
        'METHOD_NOT_ALLOWED',
        async () => ({ path: '/officer/graphql?query={__typename}', method: 'GET', headers: { authorization: `Bearer ${dpo}` } }),
      ],
      [
        'another path',
        404,
        'NOT_FOUND',
        async () => ({ path: '/graphql/', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${support}` }, body: QUERY }),
      ],
    ];
    it.each(refusals)('%s: %i %s', async (_, status, code, make) => {
      for (const [accept, mediaType] of ACCEPTS) {
        const { path, ...init } = await make();
        const headers = new Headers(init.headers);
        if (accept) headers.set('accept', accept);
        const response = await send(path, { ...init, headers });
        expect(response.status, String(accept)).toBe(status);
        expect(response.headers.get('content-type'), String(accept)).toBe(`${mediaType}; charset=utf-8`);
        expect(await response.json()).toEqual(errorBody(code));
      }
    });

    it('a revoked agent: AGENT_REVOKED 403, whether refused at commit or before GraphQL', async () => {
      await revokeAgent(world.t.db, 'kyc-bot', 'test', 'compromised');
      const kyc = await world.kh.token('kyc-bot');
      for (const accept of [APOLLO_ACCEPT, APOLLO_ACCEPT, 'application/json']) {
        const response = await post('/graphql', kyc, QUERY, { accept });
        expect(response.status).toBe(403);
        expect(response.headers.get('content-type')).toBe(
          `${accept === APOLLO_ACCEPT ? 'application/graphql-response+json' : 'application/json'}; charset=utf-8`,
        );
        expect(await response.json()).toMatchObject(errorBody('AGENT_REVOKED'));
      }
    });
  });

  describe('requests GraphQL cannot parse are 400 with a stable code, on both endpoints, and recorded', () => {
    const ACCEPTS = [APOLLO_ACCEPT, 'application/json', '*/*', null];
    it.each([
      ['/graphql', () => support],
      ['/officer/graphql', () => dpo],
    ])('%s', async (path, token) => {
      const cases: Array<[string, string]> = [
        [JSON.stringify({ query: '{ __typename' }), 'GRAPHQL_PARSE_FAILED'],
        [JSON.stringify({ query: 'query { ...' }), 'GRAPHQL_PARSE_FAILED'],
        ['{"query": "{ __typename }"', 'BAD_REQUEST'],
        ['not json', 'BAD_REQUEST'],
      ];
      for (const [body, code] of cases) {
        for (const accept of ACCEPTS) {
          const before = await records();
          const response = await post(path, token(), body, accept ? { accept } : {});
          const what = `${body} (accept ${accept})`;
          expect(response.status, what).toBe(400);
          expect((await response.json()).errors[0].extensions.code, what).toBe(code);
          expect(await records(), what).toBe(before + 1);
          expect(await lastRecord(), what).toMatchObject({ code, actor_id: path === '/graphql' ? 'support-bot' : 'dpo' });
        }
      }
    });
  });

  describe('CORS', () => {
    const EVIL = 'https://evil.example';
    const preflight = (path: string, origin: string) =>
      send(path, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });

    it('by default sends no CORS header on either endpoint, preflight included', async () => {
      for (const [path, token] of [
        ['/graphql', support],
        ['/officer/graphql', dpo],
      ] as const) {
        const answer = await post(path, token, QUERY, { origin: EVIL });
        expect(answer.status).toBe(200);
        expect(corsHeaders(answer), path).toEqual([]);
        expect(corsHeaders(await preflight(path, EVIL)), `preflight ${path}`).toEqual([]);
      }
      expect(corsHeaders(await send('/officer', { headers: { origin: EVIL } }))).toEqual([]);
    });

    it("with KEYHOLE_CORS_ORIGINS: the listed origins on the agents' endpoint only, never with credentials", async () => {
      const app = 'https://app.example';
      const configured = await startTestBroker(world.t.db, { dataDir: world.kh.dataDir, env: { KEYHOLE_CORS_ORIGINS: `${app}, https://other.example:8443` } });
      try {
        const at = (path: string, init: RequestInit) => configured.broker.fetch(new Request(`http://keyhole.test${path}`, init));
        const postFrom = (path: string, token: string, origin: string) =>
          at(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, origin }, body: QUERY });
        const allowed = await postFrom('/graphql', support, app);
        expect(allowed.status).toBe(200);
        expect(allowed.headers.get('access-control-allow-origin')).toBe(app);
        expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
        const before = await records();
        const allowedPreflight = await at('/graphql', { method: 'OPTIONS', headers: { origin: app, 'access-control-request-method': 'POST' } });
        expect(allowedPreflight.status).toBe(204);
        expect(allowedPreflight.headers.get('access-control-allow-origin')).toBe(app);
        expect(allowedPreflight.headers.get('access-control-allow-methods')).toBe('POST');
        expect(allowedPreflight.headers.get('access-control-allow-credentials')).toBeNull();
        expect(await records()).toBe(before);

        expect(corsHeaders(await postFrom('/graphql', support, EVIL))).toEqual([]);
        expect(corsHeaders(await at('/graphql', { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } }))).toEqual([]);
        expect(corsHeaders(await postFrom('/officer/graphql', dpo, app))).toEqual([]);
        expect(corsHeaders(await at('/officer/graphql', { method: 'OPTIONS', headers: { origin: app, 'access-control-request-method': 'POST' } }))).toEqual([]);
      } finally {
        await configured.close();
      }
    });

    it('KEYHOLE_CORS_ORIGINS takes exact origins or *, and a broker with anything else does not start', async () => {
      expect(corsOriginsFrom(undefined)).toEqual([]);
      expect(corsOriginsFrom(' https://a.example ,http://localhost:3000,')).toEqual(['https://a.example', 'http://localhost:3000']);
      expect(corsOriginsFrom('*')).toEqual(['*']);
      for (const bad of ['https://a.example/', 'https://a.example/app', 'a.example', 'null'])
        expect(() => corsOriginsFrom(bad), bad).toThrow(/KEYHOLE_CORS_ORIGINS/);
      await expect(startTestBroker(world.t.db, { dataDir: world.kh.dataDir, env: { KEYHOLE_CORS_ORIGINS: 'https://a.example/' } })).rejects.toThrow(
        /KEYHOLE_CORS_ORIGINS/,
      );
    });
  });

  it('leaves an audit chain that verifies', async () => {
    expect(await verifyAuditChain(world.t.db, world.kh.broker.secrets.auditKey)).toMatchObject({ ok: true });
  });
});
