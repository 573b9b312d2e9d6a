import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { auditRecordCount } from '../support/mcp.ts';
import { useWorld } from '../support/world.ts';
import { type RawMcpSession, rawMcpSession, requestId } from './mcp-session.ts';

/**
 * A tool call the MCP layer refuses before any GraphQL request (no such tool, arguments outside the tool's schema)
 * is still a request of the agent's: refused with a code, recorded once, the chain intact. Otherwise an agent could
 * probe, say, for hidden fields through a list tool's `fields` or `where` without a trace. Sent as raw JSON-RPC: a
 * client library would refuse some of these (an argument nested too deep to serialize) before they left.
 */
describe('tool calls refused before they reach GraphQL, on /mcp', () => {
  const world = useWorld(createPostgresTestDatabase);
  let session: RawMcpSession;

  beforeAll(async () => {
    session = await rawMcpSession(world.kh.broker, await world.kh.token('support-bot'));
  });

  /** One tools/call with `args` written as JSON text as it is, and its result. */
  async function callTool(name: string, args: string): Promise<{ isError?: boolean; content: Array<{ text: string }> }> {
    const response = await session.send(
      `{"jsonrpc":"2.0","id":${requestId()},"method":"tools/call","params":{"name":${JSON.stringify(name)},"arguments":${args}}}`,
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { result: { isError?: boolean; content: Array<{ text: string }> } }).result;
  }

  const lastRecord = async () =>
    (await world.t.db.query('SELECT actor_id, decision, code, reason, details FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0] as Record<string, unknown>;

  const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it.each([
    ['a hidden field in where', 'list_customers', '{"where":{"national_id":{"eq":"S1234567A"}}}'],
    ['a hidden field in fields', 'list_customers', '{"fields":["national_id"]}'],
    ['a page over the limit', 'list_customers', '{"limit":100000}'],
    ['a wrong type', 'list_customers', '{"limit":"all"}'],
    ['a query that is not a string', 'query', '{"query":{"__schema":true}}'],
    ['variables nested deeper than JSON can be passed on', 'query', `{"query":"{ customers(limit: 1) { id } }","variables":{"v":${nested(20_000)}}}`],
    ['a tool not in the view', 'list_diagnoses', '{}'],
  ])('refuses %s with INVALID_ARGUMENT, recorded once as the agent, never echoing it', async (_what, name, args) => {
    const before = await auditRecordCount(world.t.db);
    const result = await callTool(name, args);
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/^INVALID_ARGUMENT: /);
    expect(await auditRecordCount(world.t.db)).toBe(before + 1);
    const record = await lastRecord();
    expect(record).toMatchObject({ actor_id: 'support-bot', decision: 'denied', code: 'INVALID_ARGUMENT', details: { transport: 'mcp-http' } });
    expect(JSON.stringify(record)).not.toMatch(/national_id|S1234567A|__schema|list_diagnoses/);
  });

  it('tells a hidden field and one that does not exist apart neither in the answer nor in the record', async () => {
    const answers = [];
    for (const field of ['national_id', 'no_such_field']) {
      answers.push({ told: (await callTool('list_customers', JSON.stringify({ fields: [field] }))).content[0]!.text, record: await lastRecord() });
    }
    expect(answers[0]).toEqual(answers[1]);
  });

  it('leaves an audit chain that verifies', async () => {
    expect(await verifyAuditChain(world.t.db, world.kh.broker.secrets.auditKey)).toMatchObject({ ok: true, bad: [] });
  });
});
