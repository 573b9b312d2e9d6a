import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import type { ClaimValue } from '../../src/policy/index.ts';
import type { TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase } from '../support/databases.ts';
import { type DpopClient, dpopClient } from '../support/dpop.ts';
import { projectWith } from '../support/project.ts';
import { useWorld } from '../support/world.ts';
import type { ToolResult } from '../support/mcp.ts';

// Identity on every door: DPoP-bound and delegated tokens on /mcp, where each tool call is a GraphQL request the
// broker makes on the agent's behalf. The MCP endpoint serves loopback hosts only, so the tests address localhost.

const MCP_URL = 'http://localhost/mcp';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

interface AuditRow {
  actor_id: string | null;
  on_behalf_of: string | null;
  decision: string;
  code: string | null;
  details: Record<string, unknown>;
}

/** How the agent's client authenticates each HTTP request it sends: its Authorization, and a fresh DPoP proof if bound. */
interface Credentials {
  token: string;
  dpop?: DpopClient;
}

async function authorized(credentials: Credentials, url: string, method: string, headers: Headers): Promise<Headers> {
  const { token, dpop } = credentials;
  headers.set('authorization', `${dpop ? 'DPoP' : 'Bearer'} ${token}`);
  if (dpop) headers.set('dpop', await dpop.proof({ method, url, token }));
  return headers;
}

/** POSTs one JSON-RPC message to /mcp with exactly the headers given. */
async function rawPost(kh: TestBroker, headers: Record<string, string>, body: unknown = INITIALIZE) {
  const response = await kh.broker.fetch(
    new Request(MCP_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    }),
  );
  const text = await response.text();
  const code = (JSON.parse(text) as { errors?: Array<{ extensions: { code: string } }> }).errors?.[0]?.extensions.code;
  return { status: response.status, code, challenge: response.headers.get('www-authenticate') };
}

/** A delegated token of support-bot, as `keyhole token --agent support-bot --for <person> --claim …` mints it. */
const actingFor = (kh: TestBroker, person: string, claims: Record<string, ClaimValue>) =>
  issueToken({
    keys: kh.broker.tokenKeys,
    registry: kh.broker.config.registry,
    subject: 'support-bot',
    ttlSeconds: parseTtl('1h'),
    onBehalfOf: { id: person, claims },
  });

function useMcpClients(world: { kh: TestBroker }) {
  const clients: Client[] = [];
  afterAll(async () => {
    for (const client of clients) await client.close();
  });
  /** The SDK's own client over streamable HTTP, every request it sends authenticated by `credentials`. */
  return async (credentials: Credentials): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
      fetch: async (url, init) => {
        const method = init?.method ?? 'GET';
        const headers = await authorized(credentials, String(url), method, new Headers(init?.headers));
        return world.kh.broker.fetch(new Request(url, { ...init, headers }));
      },
    });
    const client = new Client({ name: 'keyhole-identity-test', version: '0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
}

const rowsOf = (result: ToolResult, table: string) => {
  expect(result.isError, result.content[0]?.text).toBeFalsy();
  return (JSON.parse(result.content[1]!.text!) as { data: Record<string, Array<Record<string, unknown>>> }).data[table]!;
};

describe('identity on /mcp: DPoP-bound and delegated tokens', () => {
  const world = useWorld(createPgliteTestDatabase);
  const connect = useMcpClients(world);

  const lastAudit = async () =>
    (await world.t.db.query<AuditRow>('SELECT actor_id, on_behalf_of, decision, code, details FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;

  it('serves a DPoP-bound agent that sends a proof with each request: tools listed, a tool called and recorded', async () => {
    const dpop = await dpopClient('EdDSA');
    const token = await issueToken({ keys: world.kh.broker.tokenKeys, registry: world.kh.broker.config.registry, subject: 'support-bot', dpopJkt: dpop.jkt });
    const client = await connect({ token, dpop });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('list_customers');
    const rows = rowsOf((await client.callTool({ name: 'list_customers', arguments: { fields: ['id', 'residency'], limit: 2 } })) as ToolResult, 'customers');
    expect(rows.length).toBe(2);
    expect(await lastAudit()).toMatchObject({ actor_id: 'support-bot', decision: 'allowed', details: expect.objectContaining({ transport: 'mcp-http' }) });
    // Tools stay callable: each call is a new /mcp request with a new proof, never the first one's.
    expect(rowsOf((await client.callTool({ name: 'list_accounts', arguments: { limit: 1 } })) as ToolResult, 'accounts').length).toBe(1);
  });

  it('refuses on /mcp a bound token without its proof, with another key’s proof, or with a replayed proof', async () => {
    const dpop = await dpopClient();
    const thief = await dpopClient();
    const token = await issueToken({ keys: world.kh.broker.tokenKeys, registry: world.kh.broker.config.registry, subject: 'support-bot', dpopJkt: dpop.jkt });
    expect(await rawPost(world.kh, { authorization: `DPoP ${token}` })).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
    expect(await rawPost(world.kh, { authorization: `Bearer ${token}` })).toMatchObject({ status: 401, code: 'DPOP_REQUIRED' });
    const stolen = await rawPost(world.kh, { authorization: `DPoP ${token}`, dpop: await thief.proof({ url: MCP_URL, token }) });
    expect(stolen).toMatchObject({ status: 401, code: 'DPOP_INVALID', challenge: expect.stringMatching(/^DPoP error="invalid_dpop_proof"/) });
    const forGraphql = await rawPost(world.kh, { authorization: `DPoP ${token}`, dpop: await dpop.proof({ url: 'http://localhost/graphql', token }) });
    expect(forGraphql).toMatchObject({ status: 401, code: 'DPOP_INVALID' });
    const proof = await dpop.proof({ url: MCP_URL, token });
    expect((await rawPost(world.kh, { authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    expect(await rawPost(world.kh, { authorization: `DPoP ${token}`, dpop: proof })).toMatchObject({ status: 401, code: 'DPOP_REPLAYED' });
    expect(await lastAudit()).toMatchObject({ actor_id: null, decision: 'denied', code: 'DPOP_REPLAYED', details: { claimedAgent: 'support-bot' } });
  });

  it("builds a delegated agent's tools from its person's view, serves only that person's rows, and records both", async () => {
    const ada = await connect({ token: await actingFor(world.kh, 'ada', { regions: ['EU-DE', 'EU-FR'], role: 'clerk' }) });
    const tom = await connect({ token: await actingFor(world.kh, 'tom', { regions: ['SG'], role: 'trainee' }) });
    const fieldsOf = async (client: Client) => {
      const list = (await client.listTools()).tools.find((tool) => tool.name === 'list_customers')!;
      return (list.inputSchema.properties as Record<string, { items: { enum: string[] } }>).fields!.items.enum;
    };
    expect(await fieldsOf(ada)).toContain('phone');
    // The policy keeps phone numbers from trainees: not in Tom's tools, and a request for one fails validation.
    expect(await fieldsOf(tom)).not.toContain('phone');
    const asked = (await tom.callTool({ name: 'list_customers', arguments: { fields: ['id', 'phone'] } })) as ToolResult;
    expect(asked.isError).toBe(true);
    const rows = rowsOf((await ada.callTool({ name: 'list_customers', arguments: { fields: ['id', 'residency'], limit: 50 } })) as ToolResult, 'customers');
    expect(new Set(rows.map((row) => row.residency))).toEqual(new Set(['EU-DE', 'EU-FR']));
    expect(await lastAudit()).toMatchObject({ actor_id: 'support-bot', on_behalf_of: 'ada', decision: 'allowed' });
  });

  it('refuses a delegated token lacking a claim the view needs before any tool exists: its code, recorded with the person', async () => {
    const max = await actingFor(world.kh, 'max', { role: 'clerk' });
    expect(await rawPost(world.kh, { authorization: `Bearer ${max}` })).toMatchObject({ status: 403, code: 'DELEGATION_CLAIM_MISSING' });
    expect(await lastAudit()).toMatchObject({ actor_id: 'support-bot', on_behalf_of: 'max', decision: 'denied', code: 'DELEGATION_CLAIM_MISSING' });
    await expect(connect({ token: max })).rejects.toThrow(/DELEGATION_CLAIM_MISSING/);
  });
});

describe('identity on /mcp: a view that requires delegation', () => {
  const world = useWorld(createPgliteTestDatabase, () =>
    projectWith({ 'schema/policies.yaml': (text) => text.replace('    delegation:\n      required: false\n', '    delegation:\n      required: true\n') }),
  );

  it('refuses an undelegated token with DELEGATION_REQUIRED, and serves a delegated one', async () => {
    expect(await rawPost(world.kh, { authorization: `Bearer ${await world.kh.token('support-bot')}` })).toMatchObject({
      status: 403,
      code: 'DELEGATION_REQUIRED',
    });
    const { rows } = await world.t.db.query<AuditRow>('SELECT actor_id, decision, code FROM audit_log ORDER BY seq DESC LIMIT 1');
    expect(rows[0]).toEqual({ actor_id: 'support-bot', decision: 'denied', code: 'DELEGATION_REQUIRED' });
    const ada = await actingFor(world.kh, 'ada', { regions: ['EU-DE'], role: 'clerk' });
    expect((await rawPost(world.kh, { authorization: `Bearer ${ada}` })).status).toBe(200);
  });
});
