import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PATH, MCP_STDIO_CLIENT } from './http-endpoint.ts';
import { toolError } from './tool-results.ts';

/** The broker refused the bridge or could not be reached; `code` is the broker's refusal code when it gave one. */
export class BrokerConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerConnectError';
  }
}

/** The broker's /mcp endpoint from its base URL; a URL already ending in /mcp is kept as it is. */
export function mcpEndpointUrl(baseUrl: string): URL {
  const url = new URL(baseUrl);
  if (!url.pathname.endsWith(MCP_PATH)) url.pathname = `${url.pathname.replace(/\/$/, '')}${MCP_PATH}`;
  return url;
}

/** `CODE: message` of a refusal the broker sent as an HTTP answer (its GraphQL-shaped error body), else null. */
function refusalOf(error: unknown): { code: string; message: string } | null {
  if (!(error instanceof StreamableHTTPError)) return null;
  const body = error.message.slice(error.message.indexOf('{'));
  try {
    const first = (JSON.parse(body) as { errors?: Array<{ message?: string; extensions?: { code?: string } }> }).errors?.[0];
    return first?.extensions?.code ? { code: first.extensions.code, message: first.message ?? '' } : null;
  } catch {
    return null;
  }
}

const DPOP_CODES = new Set(['DPOP_REQUIRED', 'DPOP_INVALID']);

/** Why the broker did not answer, in one line: its refusal code first, or where it could not be reached. */
function brokerFailure(endpoint: URL, error: unknown): BrokerConnectError {
  const refusal = refusalOf(error);
  if (refusal && DPOP_CODES.has(refusal.code)) {
    return new BrokerConnectError(
      `${refusal.code}: this token is bound to a DPoP key, and keyhole mcp (stdio) sends bearer tokens only: issue one without --dpop-jwk`,
    );
  }
  if (refusal) return new BrokerConnectError(`${refusal.code}: ${refusal.message}`);
  const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
  return new BrokerConnectError(`BROKER_UNREACHABLE: cannot reach the Keyhole broker at ${endpoint}: ${reason}`);
}

interface BrokerSession {
  client: Client;
  /** Ends the session on the broker too (DELETE /mcp), so it does not wait there for the per-agent limit. */
  close(): Promise<void>;
}

/** An MCP session on the broker's /mcp as the agent holding `token`: its tools are the ones generated for that agent. */
async function connectBroker(endpoint: URL, token: string): Promise<BrokerSession> {
  const client = new Client({ name: MCP_STDIO_CLIENT, version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  try {
    await client.connect(transport);
  } catch (error) {
    throw brokerFailure(endpoint, error);
  }
  return {
    client,
    close: async () => {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** The broker no longer knows the bridge's session: it restarted, or closed it for a newer one of the agent's. */
const SESSION_GONE = 'MCP_SESSION_NOT_FOUND';

export interface StdioBridge {
  /** The MCP server to connect to stdio. */
  server: Server;
  /** Closes the server and ends the broker session. */
  close(): Promise<void>;
}

/**
 * A stdio-side MCP server that re-exposes a session on the broker's /mcp: tools/list and tools/call go there unchanged,
 * so tool generation, identity, masking, DP, audit and error codes all stay in the broker. A refusal of the HTTP
 * request itself (a revoked agent, an expired token) reaches the model as a tool error with the broker's code. A lost
 * session is opened anew once per call (the refusal was recorded and released nothing, so the retry is safe), and the
 * host is told to list the tools again, as the new session's may differ.
 */
export async function openStdioBridge(endpoint: URL, token: string): Promise<StdioBridge> {
  const first = await connectBroker(endpoint, token);
  const server = new Server(
    { name: 'keyhole', version: '0.1.0' },
    { capabilities: { tools: { listChanged: true } }, instructions: first.client.getInstructions() },
  );
  let current = Promise.resolve(first);

  async function reopen(stale: BrokerSession): Promise<BrokerSession> {
    await stale.close();
    const fresh = await connectBroker(endpoint, token);
    await server.sendToolListChanged();
    return fresh;
  }

  async function forward<T>(step: (client: Client) => Promise<T>): Promise<T> {
    const used = current;
    const session = await used;
    try {
      return await step(session.client);
    } catch (error) {
      if (refusalOf(error)?.code !== SESSION_GONE) throw error;
    }
    // Calls failing together reopen one session; if reopening fails, the next call tries again.
    if (current === used) {
      current = reopen(session);
      current.catch(() => {
        current = used;
      });
    }
    return step((await current).client);
  }

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    try {
      return await forward((client) => client.listTools(request.params));
    } catch (error) {
      // The broker's own protocol errors pass on as they are.
      throw error instanceof McpError ? error : brokerFailure(endpoint, error);
    }
  });
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    try {
      return (await forward((client) => client.callTool(request.params))) as CallToolResult;
    } catch (error) {
      if (error instanceof McpError) throw error;
      return toolError(brokerFailure(endpoint, error).message);
    }
  });
  return {
    server,
    close: async () => {
      await server.close();
      await (await current).close();
    },
  };
}
