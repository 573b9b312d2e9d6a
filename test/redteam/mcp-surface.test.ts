import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/limits.ts';
import { createBrokerServer } from '../../src/http/server.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { auditRecordCount } from '../support/mcp.ts';
import { epsilonSpent } from '../support/dp.ts';
import { useWorld } from '../support/world.ts';
import { type RawMcpSession, rawMcpSession, requestId, toolCall } from './mcp-session.ts';

/**
 * What JSON-RPC lets an agent put in one POST to /mcp: a batch of tool calls is as many requests through the broker
 * (each recorded, each DP release charged, each within the query limits), and messages that are no tool call, or a
 * tool call sent as a notification, run nothing.
 */
describe('JSON-RPC batches and notifications on /mcp', () => {
  const world = useWorld(createPostgresTestDatabase);
  const sessions = new Map<string, RawMcpSession>();
  const send = (agent: string, body: unknown) => sessions.get(agent)!.send(body);

  beforeAll(async () => {
    for (const agent of ['support-bot', 'analytics-bot']) sessions.set(agent, await rawMcpSession(world.kh.broker, await world.kh.token(agent)));
  });

  const textOf = (reply: { result: { content: Array<{ text: string }> } }) => reply.result.content.map((item) => item.text).join('\n');
  const records = async (n: number) =>
    (await world.t.db.query('SELECT actor_id, decision, code, details FROM audit_log ORDER BY seq DESC LIMIT $1', [n])).rows.reverse();

  it('answers a batch of tool calls as one request each: each recorded, each within the query limits', async () => {
    const before = await auditRecordCount(world.t.db);
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: customers(limit: 1) { id }`).join(' ');
    const deep = '{ customers(limit: 1) { accounts { customer { accounts { customer { accounts { customer { id } } } } } } } }';
    const response = await send('support-bot', [
      toolCall('list_customers', { fields: ['id'], limit: 1 }),
      toolCall('query', { query: `{ ${aliases} }` }),
      toolCall('query', { query: deep }),
    ]);
    const replies = (await response.json()) as Array<{ result: { content: Array<{ text: string }> } }>;
    expect(replies.map(textOf)).toEqual([
      expect.stringContaining('"customers"'),
      expect.stringMatching(/^QUERY_LIMIT_EXCEEDED: Aliases limit/),
      expect.stringMatching(/^QUERY_LIMIT_EXCEEDED: Query depth limit/),
    ]);
    expect(await auditRecordCount(world.t.db)).toBe(before + 3);
    const transport = { details: expect.objectContaining({ transport: 'mcp-http' }) };
    expect(await records(3)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor_id: 'support-bot', decision: 'allowed', ...transport }),
        expect.objectContaining({ actor_id: 'support-bot', code: 'QUERY_LIMIT_EXCEEDED', ...transport }),
        expect.objectContaining({ actor_id: 'support-bot', code: 'QUERY_LIMIT_EXCEEDED', ...transport }),
      ]),
    );
  });

  it('charges every DP release: a batch of aggregate calls, and two aggregates in one query', async () => {
    const before = await epsilonSpent(world.t.db, 'analytics-bot');
    const batch = [0.11, 0.12, 0.13].map((epsilon) => toolCall('aggregate_transactions', { epsilon, groupBy: ['merchant_category'] }));
    const field = (alias: string, epsilon: number) =>
      `${alias}: transactions_aggregate(epsilon: ${epsilon}, groupBy: [merchant_category]) { groups { count { value } } }`;
    const both = toolCall('query', { query: `{ ${field('a', 0.14)} ${field('b', 0.15)} }` });
    const replies = (await (await send('analytics-bot', [...batch, both])).json()) as Array<{ result: { isError?: boolean } }>;
    expect(replies.map((reply) => reply.result.isError ?? false)).toEqual([false, false, false, false]);
    expect(await epsilonSpent(world.t.db, 'analytics-bot')).toBeCloseTo(before + 0.11 + 0.12 + 0.13 + 0.14 + 0.15, 9);
  });

  it('runs nothing for a tool call sent as a notification, nor for messages that are no tool call', async () => {
    const before = await auditRecordCount(world.t.db);
    const { id: _, ...notification } = toolCall('list_customers', { limit: 1 });
    expect((await send('support-bot', notification)).status).toBe(202);
    const replies = (await (
      await send('support-bot', [
        { jsonrpc: '2.0', id: requestId(), method: 'ping' },
        { jsonrpc: '2.0', id: requestId(), method: 'resources/list' },
        { jsonrpc: '2.0', id: requestId(), method: 'prompts/get', params: { name: 'customers' } },
        {
          jsonrpc: '2.0',
          id: requestId(),
          method: 'completion/complete',
          params: { ref: { type: 'ref/prompt', name: 'x' }, argument: { name: 'a', value: 'b' } },
        },
      ])
    ).json()) as Array<{ result?: unknown; error?: { code: number } }>;
    expect(replies).toEqual([
      expect.objectContaining({ result: {} }),
      ...Array(3).fill(expect.objectContaining({ error: expect.objectContaining({ code: -32601 }) })),
    ]);
    expect(await auditRecordCount(world.t.db)).toBe(before);
  });
});

describe('a tool call past the request deadline', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db, { env: { KEYHOLE_REQUEST_DEADLINE_MS: '1' } });
  });
  afterAll(async () => {
    await kh?.close();
    await t?.drop();
  });

  it('is refused with DEADLINE_EXCEEDED, recorded as a tool call, and charges no budget', async () => {
    const session = await rawMcpSession(kh.broker, await kh.token('analytics-bot'));
    const reply = (await (await session.send(toolCall('aggregate_transactions', { epsilon: 1, groupBy: ['merchant_category'] }))).json()) as {
      result: { isError?: boolean; content: Array<{ text: string }> };
    };
    expect(reply.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^DEADLINE_EXCEEDED: /) }] });
    const { rows } = await t.db.query("SELECT decision, code, details->>'transport' AS transport FROM audit_log WHERE actor_id = 'analytics-bot'");
    expect(rows).toEqual([{ decision: 'denied', code: 'DEADLINE_EXCEEDED', transport: 'mcp-http' }]);
    expect(await epsilonSpent(t.db, 'analytics-bot')).toBe(0);
  });
});

describe('a body over the server limit on /mcp', () => {
  const world = useWorld(createPostgresTestDatabase);

  it('is refused 413 PAYLOAD_TOO_LARGE and recorded, as on /graphql', async () => {
    // The broker's own server, but never shut down here: that would drain the broker.
    const { server } = createBrokerServer(world.kh.broker.listener, { ...DEFAULT_HTTP_LIMITS, maxBodyBytes: 64 * 1024 }, world.kh.broker.drain);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const initialize = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x'.repeat(100_000), version: '0' } };
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${await world.kh.token('support-bot')}`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: requestId(), method: 'initialize', params: initialize }),
      });
      const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect({ status: response.status, code: body.errors[0]!.extensions.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      const { rows } = await world.t.db.query('SELECT decision, code FROM audit_log WHERE request_id = $1', [response.headers.get('x-request-id')]);
      expect(rows).toEqual([{ decision: 'denied', code: 'PAYLOAD_TOO_LARGE' }]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
