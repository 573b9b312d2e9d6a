import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/sql/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';
import { rawMcpSession, requestId, toolCall } from './mcp-session.ts';

// Four requests a minute for analytics-bot (a DP view: opening a session reads its dp_budget row) and support-bot;
// kyc-bot keeps the defaults.
const LIMIT = 4;
const LIMITS = {
  'schema/agents.yaml': (text: string) =>
    text
      .replace(/(support-bot:[\s\S]*?)rateLimit: \{[^}]*\}/, `$1rateLimit: { requestsPerMinute: ${LIMIT} }`)
      .replace(/(analytics-bot:[\s\S]*?)rateLimit: \{[^}]*\}/, `$1rateLimit: { requestsPerMinute: ${LIMIT} }`),
};

const INITIALIZE = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'flood', version: '0' } };
const ping = () => ({ jsonrpc: '2.0', id: requestId(), method: 'ping' });
const toolsList = () => ({ jsonrpc: '2.0', id: requestId(), method: 'tools/list' });

interface Reply {
  status: number;
  retryAfter: string | null;
  session: string | null;
  code: string | undefined;
}

/** What a refusal, or an MCP answer, comes back as: its status, Retry-After, the session opened, the refusal's code. */
async function replyOf(response: Response): Promise<Reply> {
  const body = (await response.json().catch(() => null)) as { errors?: Array<{ extensions?: { code?: string } }> } | null;
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    session: response.headers.get('mcp-session-id'),
    code: body?.errors?.[0]?.extensions?.code,
  };
}

/** The database, noting the statements that read dp_budget (what each session opened for a DP view costs). */
function notingBudgetReads(db: Db): Db & { budgetReads: () => number } {
  let reads = 0;
  return {
    ...db,
    budgetReads: () => reads,
    query: (text, params) => {
      if (/^SELECT \* FROM dp_budget/.test(text)) reads += 1;
      return db.query(text, params);
    },
  };
}

/**
 * The MCP protocol messages that release no data (initialize, tools/list, ping) are requests to the broker like any
 * other: they count against the agent's rate limit, and over it are refused as /graphql refuses, before a session's
 * server is built or its budget read. A tool call counts once, not once on /mcp and again as its GraphQL request.
 */
describe('the rate limit on /mcp', () => {
  let t: TestDatabase;
  let db: ReturnType<typeof notingBudgetReads>;
  let root: string;
  let kh: TestBroker;
  /** One token per agent: a session is bound to the token that opened it. */
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    root = await projectWith(LIMITS);
    db = notingBudgetReads(t.db);
    kh = await startTestBroker(db, { root });
    for (const agent of ['analytics-bot', 'support-bot', 'kyc-bot']) tokens.set(agent, await kh.token(agent));
  });
  afterEach(async () => {
    // Under 200 a minute the broker takes each request from the database, holding none ahead: emptying the table
    // gives each test a whole minute's allowance.
    await t.db.query('DELETE FROM agent_rate_limits');
  });
  afterAll(async () => {
    await kh?.close();
    await t?.drop();
    await rm(root, { recursive: true, force: true });
  });

  /** POSTs `body` to /mcp as `agent`, in `session` if given. */
  const post = async (agent: string, body: unknown, session?: string | null) =>
    replyOf(
      await kh.broker.fetch(
        new Request('http://127.0.0.1/mcp', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${tokens.get(agent)}`,
            ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
          },
          body: JSON.stringify(body),
        }),
      ),
    );
  const initialize = (agent: string) => post(agent, { jsonrpc: '2.0', id: requestId(), method: 'initialize', params: INITIALIZE });
  const lastRecord = async () =>
    (await t.db.query('SELECT actor_id, decision, code, reason FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0] as Record<string, string>;

  it('refuses a flood of initialize RATE_LIMITED (429, Retry-After, recorded) before it reads the budget; others are served', async () => {
    const reads = db.budgetReads();
    const opened = [];
    for (let i = 0; i < LIMIT; i++) opened.push(await initialize('analytics-bot'));
    expect(opened.map((reply) => [reply.status, typeof reply.session])).toEqual(Array(LIMIT).fill([200, 'string']));
    expect(db.budgetReads() - reads).toBe(LIMIT);
    for (let i = 0; i < 3; i++) {
      const refused = await initialize('analytics-bot');
      expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', session: null });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(await lastRecord()).toMatchObject({ actor_id: 'analytics-bot', decision: 'denied', code: 'RATE_LIMITED' });
      expect((await lastRecord()).reason).toMatch(/4 requests per minute; retry in \d+ s/);
    }
    expect(db.budgetReads() - reads).toBe(LIMIT);
    // One allowance, whatever the transport: a session already open, and /graphql, are refused too.
    expect(await post('analytics-bot', toolsList(), opened[0]!.session)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect((await kh.graphql(tokens.get('analytics-bot')!, '{ viewer { agent } }')).status).toBe(429);
    const bystander = await initialize('kyc-bot');
    expect(bystander.status).toBe(200);
    expect(await post('kyc-bot', toolsList(), bystander.session)).toMatchObject({ status: 200, code: undefined });
  });

  it('refuses a flood of tools/list in an open session once over the limit', async () => {
    // initialize and notifications/initialized: two requests.
    const session = await rawMcpSession(kh.broker, tokens.get('support-bot')!);
    for (let i = 2; i < LIMIT; i++) expect((await session.send(toolsList())).status).toBe(200);
    expect(await replyOf(await session.send(toolsList()))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await replyOf(await session.send(ping()))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await lastRecord()).toMatchObject({ actor_id: 'support-bot', code: 'RATE_LIMITED' });
  });

  it('counts a tool call once, though it runs as a GraphQL request of its own', async () => {
    const session = await rawMcpSession(kh.broker, tokens.get('support-bot')!);
    const call = (await (await session.send(toolCall('list_customers', { fields: ['id'], limit: 1 }))).json()) as { result: { isError?: boolean } };
    expect(call.result.isError ?? false).toBe(false);
    expect(await lastRecord()).toMatchObject({ actor_id: 'support-bot', decision: 'allowed' });
    // Two to open the session and one tool call leave one request of the four.
    expect((await session.send(ping())).status).toBe(200);
    expect((await session.send(ping())).status).toBe(429);
  });

  it('counts each message of a batch: a batch past the allowance is refused whole', async () => {
    const session = await rawMcpSession(kh.broker, tokens.get('support-bot')!);
    expect(await replyOf(await session.send([ping(), ping(), ping()]))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });
});
