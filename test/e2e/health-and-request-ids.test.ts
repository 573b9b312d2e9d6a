import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/request/refusals.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';

const QUERY = '{ customers(limit: 2) { id residency } }';

describe.each(ENGINES)('health, drain and request ids on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let token: string;
  const get = (path: string) => kh.broker.fetch(new Request(`http://keyhole.test${path}`));
  const post = (path: string, headers: Record<string, string> = {}, body = JSON.stringify({ query: QUERY })) =>
    kh.broker.fetch(new Request(`http://keyhole.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }));
  const recordOf = async (requestId: string) =>
    (await t.db.query<{ decision: string; code: string | null }>('SELECT decision, code FROM audit_log WHERE request_id = $1', [requestId])).rows;

  beforeEach(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    token = await kh.token('support-bot');
  });
  afterEach(async () => {
    await kh.close();
    await t.drop();
  });

  it('is live and ready while the audit log takes records', async () => {
    expect((await get('/livez')).status).toBe(200);
    for (const path of ['/readyz', '/healthz']) expect(await (await get(path)).json()).toMatchObject({ status: 'ok', database: t.db.kind });
  });

  it('is not ready while no audit record can be written (what /healthz used to miss), and ready again after', async () => {
    await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
    expect((await kh.graphql(token, QUERY)).body.errors?.[0]?.extensions?.code).toBe('AUDIT_UNAVAILABLE');
    for (const path of ['/readyz', '/healthz']) expect((await get(path)).status).toBe(503);
    expect((await get('/livez')).status).toBe(200);
    await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
    expect((await get('/readyz')).status).toBe(200);
  });

  it('is not ready when a constraint checked only at commit would refuse the record', async () => {
    await t.db.exec(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_audit AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_audit();
    `);
    expect((await get('/readyz')).status).toBe(503);
    await t.db.exec('DROP TRIGGER refuse_audit ON audit_log');
    expect((await get('/readyz')).status).toBe(200);
  });

  it('is not ready when the DP ledger cannot be read', async () => {
    await t.db.exec('ALTER TABLE dp_budget RENAME TO dp_budget_away');
    expect((await get('/readyz')).status).toBe(503);
    await t.db.exec('ALTER TABLE dp_budget_away RENAME TO dp_budget');
    expect((await get('/readyz')).status).toBe(200);
  });

  it('leaves no trace of its probe in the audit log', async () => {
    for (let i = 0; i < 3; i++) await get('/readyz');
    expect((await t.db.query("SELECT 1 FROM audit_log WHERE request_id = 'readiness-probe'")).rows).toEqual([]);
  });

  it('while draining: not ready, still live, and a request that arrives is refused SHUTTING_DOWN and recorded', async () => {
    kh.broker.drain.start();
    expect(await (await get('/readyz')).json()).toMatchObject({ status: 'draining' });
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/livez')).status).toBe(200);
    const reply = await kh.graphql(token, QUERY);
    expect(reply.status).toBe(503);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('SHUTTING_DOWN');
    expect(await recordOf(reply.requestId!)).toEqual([{ decision: 'denied', code: 'SHUTTING_DOWN' }]);
  });

  it("while draining: an officer's review that arrives is refused SHUTTING_DOWN and recorded too", async () => {
    kh.broker.drain.start();
    const response = await post('/officer/graphql', { authorization: `Bearer ${await kh.token('dpo')}` }, JSON.stringify({ query: '{ accessCount }' }));
    const body = (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
    expect(response.status).toBe(503);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('SHUTTING_DOWN');
    expect(await recordOf(response.headers.get('x-request-id')!)).toEqual([{ decision: 'denied', code: 'SHUTTING_DOWN' }]);
  });

  it('names every answer with the request id of its audit record, in the header and in extensions', async () => {
    const cases: Array<[string, () => Promise<Response>, string | null]> = [
      ['answered', () => post('/graphql', { authorization: `Bearer ${token}` }), null],
      ['invalid query', () => post('/graphql', { authorization: `Bearer ${token}` }, JSON.stringify({ query: '{ nope }' })), 'GRAPHQL_VALIDATION_FAILED'],
      ['no token', () => post('/graphql'), 'UNAUTHENTICATED'],
      ['malformed JSON', () => post('/graphql', { authorization: `Bearer ${token}` }, '{"query": '), 'BAD_REQUEST'],
      ['wrong method', () => get('/graphql'), 'METHOD_NOT_ALLOWED'],
    ];
    for (const [what, send, code] of cases) {
      const response = await send();
      const body = (await response.json()) as { extensions?: { requestId?: string }; errors?: Array<{ extensions?: { code?: string } }> };
      const requestId = response.headers.get('x-request-id');
      expect(requestId, what).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.extensions?.requestId, what).toBe(requestId);
      expect(body.errors?.[0]?.extensions?.code ?? null, what).toBe(code);
      expect(await recordOf(requestId!), what).toEqual([{ decision: code ? 'denied' : 'allowed', code }]);
    }
    const malformed = await (await post('/graphql', { authorization: `Bearer ${token}` }, '{"query": ')).text();
    // The parser's own words (and yoga's originalError) never reach the client.
    expect(malformed).not.toMatch(/originalError|Unexpected|JSON at position|end of JSON/i);
    const notFound = await get('/nowhere');
    expect(notFound.headers.get('x-request-id')).toBe(((await notFound.json()) as { extensions: { requestId: string } }).extensions.requestId);
  });

  it("keeps a client's well-formed x-request-id and replaces a malformed one", async () => {
    const kept = await post('/graphql', { authorization: `Bearer ${token}`, 'x-request-id': 'client-42.a_b' });
    expect(kept.headers.get('x-request-id')).toBe('client-42.a_b');
    expect(await recordOf('client-42.a_b')).toEqual([{ decision: 'allowed', code: null }]);
    for (const bad of ['has space', 'x'.repeat(65), 'quote"', 'semi;colon', '%C3%BC']) {
      const response = await post('/graphql', { authorization: `Bearer ${token}`, 'x-request-id': bad });
      expect(response.headers.get('x-request-id'), bad).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('the README', () => {
  it('lists every error code a client can get', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## CLI'));
    const identityCodes = [
      'UNAUTHENTICATED',
      'TOKEN_INVALID',
      'TOKEN_EXPIRED',
      'UNKNOWN_AGENT',
      'PURPOSE_NOT_ALLOWED',
      'METHOD_NOT_ALLOWED',
      'UNSUPPORTED_MEDIA_TYPE',
    ];
    const missing = [...Object.keys(ERROR_CODES), ...identityCodes, 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'QUERY_LIMIT_EXCEEDED'].filter(
      (code) => !table.includes(`\`${code}\``),
    );
    expect(missing).toEqual([]);
  });
});
