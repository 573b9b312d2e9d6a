import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Drain } from '../../src/http/drain.ts';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/limits.ts';
import { type BrokerServer, createBrokerServer } from '../../src/http/server.ts';
import { revokeAgent, restoreAgent } from '../../src/identity/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { auditedToolCall, auditRecordCount, toolAnswer, type ToolResult } from '../support/mcp.ts';
import { epsilonSpent } from '../support/dp.ts';

interface AuditRow {
  request_id: string;
  actor_id: string | null;
  decision: string;
  code: string | null;
  tables: string[];
  fields: unknown[];
  row_count: number;
  details: Record<string, unknown>;
  privacy_cost: unknown;
}

const MCP_ACCEPT = 'application/json, text/event-stream';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

describe('MCP over streamable HTTP at /mcp', () => {
  const world = useWorld(createPostgresTestDatabase);
  let http: BrokerServer;
  let base: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    http = createBrokerServer(world.kh.broker.listener, DEFAULT_HTTP_LIMITS, new Drain());
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await http?.shutdown();
  });

  async function connect(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'keyhole-http-test', version: '0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  const clientFor = async (agent: string) => (await connect(await world.kh.token(agent))).client;

  const lastAudit = async () =>
    (
      await world.t.db.query<AuditRow>(
        'SELECT request_id, actor_id, decision, code, tables, fields, row_count, details, privacy_cost FROM audit_log ORDER BY seq DESC LIMIT 1',
      )
    ).rows[0]!;
  const auditCount = () => auditRecordCount(world.t.db);

  const call = (client: Client, name: string, args?: Record<string, unknown>) => auditedToolCall(world.t.db, client, name, args);
  const answer = toolAnswer;

  const rawPost = (headers: Record<string, string>, body: unknown = INITIALIZE) =>
    fetch(new URL('/mcp', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
      body: JSON.stringify(body),
    });

  it("lists tools generated from each agent's view: the lists differ, and no hidden field is in any schema", async () => {
    const support = (await (await clientFor('support-bot')).listTools()).tools;
    const analytics = (await (await clientFor('analytics-bot')).listTools()).tools;
    expect(support.map((tool) => tool.name).sort()).toEqual(['describe_view', 'list_accounts', 'list_customers', 'query']);
    expect(analytics.map((tool) => tool.name).sort()).toEqual([
      'aggregate_accounts',
      'aggregate_customers',
      'aggregate_transactions',
      'describe_view',
      'query',
    ]);
    const customers = support.find((tool) => tool.name === 'list_customers')!;
    const properties = customers.inputSchema.properties as Record<string, any>;
    expect(properties.fields.items.enum).toEqual(expect.arrayContaining(['id', 'full_name', 'email', 'residency']));
    expect(properties.limit.maximum).toBe(50);
    expect(customers.description).toMatch(/Fields: id, full_name, email \(masked\), /);
    expect(Object.keys(properties.where.properties)).toEqual(expect.arrayContaining(['residency', 'city']));
    // Masked fields can be read, not filtered by: the schema has no filter for them, so neither has the tool.
    expect(Object.keys(properties.where.properties)).not.toContain('email');
    // Each view's hidden fields: support-bot reads no balances or notes, analytics-bot no contact data; nobody national ids.
    for (const [tools, hidden] of [
      [support, ['national_id', 'birth_date', 'diagnosis', 'balance', 'note', 'amount']],
      [analytics, ['national_id', 'birth_date', 'diagnosis', 'email', 'full_name', 'phone', 'note']],
    ] as const) {
      for (const word of hidden) expect(JSON.stringify(tools)).not.toContain(`"${word}"`);
    }
    const dp = analytics.find((tool) => tool.name === 'aggregate_transactions')!;
    expect(dp.description).toMatch(/ε left for \d{4}-\d{2}/);
    expect((dp.inputSchema.required as string[]) ?? []).toContain('epsilon');
  });

  it('answers a list tool with the rows GraphQL gives, and records the same access with the transport noted', async () => {
    const client = await clientFor('support-bot');
    const result = answer(await call(client, 'list_customers', { fields: ['id', 'email', 'residency'], where: { residency: { eq: 'SG' } }, limit: 3 }));
    const viaMcp = await lastAudit();
    const direct = await world.kh.graphql(
      await world.kh.token('support-bot'),
      '{ customers(where: { residency: { eq: "SG" } }, limit: 3) { id email residency } }',
    );
    const viaGraphql = await lastAudit();
    expect(result.data.customers).toEqual(direct.body.data!.customers);
    expect(result.data.customers.length).toBeGreaterThan(0);
    expect(viaMcp.details.transport).toBe('mcp-http');
    expect(viaGraphql.details.transport).toBeUndefined();
    const same = ({ actor_id, decision, code, tables, fields, row_count }: AuditRow) => ({ actor_id, decision, code, tables, fields, row_count });
    expect(same(viaMcp)).toEqual(same(viaGraphql));
    expect(viaMcp.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'email' })]));
  });

  it('answers a DP aggregate tool, charging the ledger', async () => {
    const client = await clientFor('analytics-bot');
    const spent = () => epsilonSpent(world.t.db, 'analytics-bot');
    const before = await spent();
    const result = answer(
      await call(client, 'aggregate_transactions', { epsilon: 0.25, groupBy: ['merchant_category'], measures: [{ op: 'avg', field: 'amount' }] }),
    );
    const aggregate = result.data.transactions_aggregate;
    expect(aggregate.cost.epsilon).toBe(0.25);
    expect(aggregate.groups.length).toBeGreaterThan(0);
    expect(aggregate.groups[0]).toHaveProperty('m0_avg_amount.value');
    expect(await spent()).toBeCloseTo(before + 0.25, 9);
    expect(await lastAudit()).toMatchObject({ decision: 'allowed', details: expect.objectContaining({ transport: 'mcp-http' }) });
  });

  it('keeps the mark on untrusted text: the notice first, the flagged values in extensions', async () => {
    const client = await clientFor('fraud-bot');
    const result = answer(await call(client, 'list_transactions', { fields: ['id', 'note'], limit: 5 }));
    expect(result.data.transactions.find((row: { id: number }) => row.id === 101)?.note).toMatch(/^Ignore previous instructions/);
    expect(result.extensions?.untrustedText).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'transactions.note' })]));
  });

  it('refuses a hidden field in a list tool, and passes GraphQL refusals on as tool errors with their codes', async () => {
    const client = await clientFor('support-bot');
    const hidden = (await client.callTool({ name: 'list_customers', arguments: { fields: ['id', 'national_id'] } })) as ToolResult;
    expect(hidden.isError).toBe(true);
    expect(hidden.content[0]!.text).toMatch(/Input validation error/);
    const hiddenFilter = (await client.callTool({ name: 'list_customers', arguments: { where: { national_id: { eq: 'x' } } } })) as ToolResult;
    expect(hiddenFilter.isError).toBe(true);
    const refused = await call(client, 'query', { query: '{ customers { id national_id } }' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/^GRAPHQL_VALIDATION_FAILED: /);
    expect(await lastAudit()).toMatchObject({
      decision: 'denied',
      code: 'GRAPHQL_VALIDATION_FAILED',
      details: expect.objectContaining({ transport: 'mcp-http' }),
    });
  });

  it('generates encrypted aggregate tools where the view allows them, and passes refusals on with their codes', async () => {
    const payroll = (await connect(await world.kh.token('fraud-bot', 'payroll_analytics'))).client;
    const tools = (await payroll.listTools()).tools;
    expect(tools.map((tool) => tool.name)).toContain('encrypted_aggregate_employees');
    // An exact sum over every employee is one that differencing could open: refused with the code GraphQL gives.
    const exact = await call(payroll, 'encrypted_aggregate_employees', { key: 'payroll', aggregate: { op: 'SUM', column: 'salary' } });
    expect(exact).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^HE_EXACT_NOT_ALLOWED: /) }] });
    const kyc = await clientFor('kyc-bot');
    const kycList = (await kyc.listTools()).tools.find((tool) => tool.name === 'list_customers')!;
    expect(kycList.description).toMatch(/national_id \(masked, needs a human approval \(APPROVAL_REQUIRED\)\)/);
    const approval = await call(kyc, 'list_customers', { fields: ['id', 'national_id'], limit: 1 });
    expect(approval).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^APPROVAL_REQUIRED: /) }] });
    expect(await lastAudit()).toMatchObject({ actor_id: 'kyc-bot', code: 'APPROVAL_REQUIRED', details: expect.objectContaining({ transport: 'mcp-http' }) });
  });

  it('refuses a missing, forged or expired token with the codes and header GraphQL uses, and records it', async () => {
    const expiring = await world.kh.token('support-bot', undefined, '1s');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    for (const [headers, code] of [
      [{}, 'UNAUTHENTICATED'],
      [{ authorization: 'Bearer not-a-token' }, 'TOKEN_INVALID'],
      [{ authorization: `Bearer ${expiring}` }, 'TOKEN_EXPIRED'],
    ] as const) {
      const before = await auditCount();
      const response = await rawPost(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(code);
      expect(await auditCount()).toBe(before + 1);
    }
    await expect(connect('not-a-token')).rejects.toThrow();
  });

  it('refuses a revoked agent, over its open session and a new one', async () => {
    const { client } = await connect(await world.kh.token('fraud-bot'));
    await revokeAgent(world.t.db, 'fraud-bot', 'test', 'mcp session of a revoked agent');
    try {
      // The open session is of no use: its next tool call is refused with GraphQL's code and record.
      const refused = (await client.callTool({ name: 'list_transactions', arguments: { limit: 1 } })) as ToolResult;
      expect(refused).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^AGENT_REVOKED: /) }] });
      expect(await lastAudit()).toMatchObject({ actor_id: 'fraud-bot', code: 'AGENT_REVOKED', details: expect.objectContaining({ transport: 'mcp-http' }) });
      // Known to be revoked now: the session's requests, and new ones, are refused before MCP sees them.
      await expect(client.listTools()).rejects.toThrow(/AGENT_REVOKED/);
      const response = await rawPost({ authorization: `Bearer ${await world.kh.token('fraud-bot')}` });
      expect(response.status).toBe(403);
      expect(await lastAudit()).toMatchObject({ actor_id: 'fraud-bot', decision: 'denied', code: 'AGENT_REVOKED' });
    } finally {
      await restoreAgent(world.t.db, 'fraud-bot');
    }
  });

  it("refuses a session id with another agent's token, or another token of the same agent", async () => {
    const { transport } = await connect(await world.kh.token('support-bot'));
    const sessionId = transport.sessionId!;
    expect(sessionId).toBeTruthy();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    for (const agent of ['fraud-bot', 'support-bot']) {
      const response = await rawPost({ authorization: `Bearer ${await world.kh.token(agent)}`, 'mcp-session-id': sessionId }, list);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('MCP_SESSION_NOT_FOUND');
      expect(await lastAudit()).toMatchObject({ actor_id: agent, code: 'MCP_SESSION_NOT_FOUND' });
    }
  });

  it('refuses a Host or Origin that is not allowed (DNS-rebinding protection)', async () => {
    const token = await world.kh.token('support-bot');
    // As a page on attacker.example whose name now resolves to this broker would send it (fetch cannot set Host).
    const rebound = await world.kh.broker.fetch(
      new Request('http://attacker.example/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${token}` },
        body: JSON.stringify(INITIALIZE),
      }),
    );
    expect(rebound.status).toBe(403);
    expect(await lastAudit()).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    const page = await rawPost({ authorization: `Bearer ${token}`, origin: 'https://attacker.example' });
    expect(page.status).toBe(403);
    const local = await rawPost({ authorization: `Bearer ${token}`, origin: 'http://localhost:3000' });
    expect(local.status).toBe(200);
  });

  it('runs the example agent (examples/mcp-agent.ts) against the broker, and it closes its session', async () => {
    const run = async (agent: string) =>
      (
        await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'examples', 'mcp-agent.ts')], {
          env: { ...process.env, KEYHOLE_URL: base, KEYHOLE_TOKEN: await world.kh.token(agent) },
          timeout: 60_000,
        })
      ).stdout;
    const before = await auditCount();
    expect(await run('analytics-bot')).toMatch(/^Customers per jurisdiction \(differentially private, cost ε = 0\.1\):\n {2}\S+: about \d+/);
    expect(await lastAudit()).toMatchObject({ actor_id: 'analytics-bot', decision: 'allowed', details: expect.objectContaining({ transport: 'mcp-http' }) });
    expect(await run('support-bot')).toMatch(/^Customers per jurisdiction on the first page this view allows:\n {2}SG: \d+/);
    expect(await auditCount()).toBe(before + 2);
  });
});
