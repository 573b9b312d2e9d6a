import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Plugin } from 'graphql-yoga';
import type { ViewSchemaCache } from '../graphql/view-schemas.ts';
import { isEndpoint } from '../http/endpoint.ts';
import type { AgentPrincipal } from '../identity/index.ts';
import type { RecordRefusal } from '../request/audit-draft.ts';
import { refusalResponse } from '../request/refusal-response.ts';
import { ERROR_CODES, type RefusalCode } from '../request/refusals.ts';
import { requestState } from '../request/state.ts';
import { type McpOriginPolicy, mcpRequestAllowed } from './http-origins.ts';
import { McpSessions, ownerOf } from './http-sessions.ts';
import { createKeyholeMcpServer, type GraphqlCall } from './server.ts';
import { type DpBudgetNote, viewTools } from './view-tools.ts';

export const MCP_PATH = '/mcp';

/** The methods /mcp takes: POST carries JSON-RPC, DELETE closes a session, GET asks for a server stream (refused: 405). */
export const MCP_METHODS: readonly string[] = ['POST', 'GET', 'DELETE'];

/** How a tool call's audit record names its way in (`details.transport`). */
export const MCP_HTTP_TRANSPORT = 'mcp-http';

export interface McpEndpointOptions {
  /** The broker's own HTTP handler: every tool call is one GraphQL request through it, as the agent. */
  fetch: (request: Request) => Promise<Response>;
  graphqlPath: string;
  views: Pick<ViewSchemaCache, 'get'>;
  /** What the agent's privacy budget allows now, for the DP tools' descriptions; null without a declared budget. */
  budgetNote: (agentId: string) => Promise<DpBudgetNote | null>;
  origins: McpOriginPolicy;
  /** Sessions open at most this many per agent (oldest closed first). */
  sessionsPerAgent?: number;
}

/** GraphQL through the broker's own pipeline with the agent's Authorization, marked as a tool call on /mcp. */
function brokerGraphql(fetch: McpEndpointOptions['fetch'], endpoint: URL, authorization: string): GraphqlCall {
  return async (query, variables) => {
    const request = new Request(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization },
      body: JSON.stringify({ query, variables }),
    });
    // Request state, not a header: nothing the agent sends can set or remove the note.
    requestState(request).access.transport = MCP_HTTP_TRANSPORT;
    const response = await fetch(request);
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

interface OpenSession {
  transport: WebStandardStreamableHTTPServerTransport;
  close(): Promise<void>;
}

/**
 * MCP over streamable HTTP at /mcp, served once identity, the revocation check and the drain gate have passed the
 * request (see AgentYogaOptions.agentEndpoint), so a missing, forged, expired or revoked token gets the same refusal
 * and the same audit record as on /graphql. A session is opened by an `initialize` POST and bound to the agent and
 * token that sent it; its tools come from that agent's compiled view. Tool calls are GraphQL requests through the
 * broker and recorded as such; protocol messages that release no data (initialize, tools/list, ping, closing) are not.
 */
export function mcpEndpoint(options: McpEndpointOptions): { plugin: (recordRefusal: RecordRefusal) => Plugin; close: () => Promise<void> } {
  const sessions = new McpSessions<OpenSession>(options.sessionsPerAgent);

  /** What the DP tools' descriptions say of the budget: read only for a view that has DP aggregates. */
  async function budgetFor(principal: AgentPrincipal): Promise<DpBudgetNote | null> {
    const { view } = options.views.get(principal);
    const hasDp = [...view.tables.values()].some((table) => table.policy.access === 'aggregates');
    return hasDp ? options.budgetNote(principal.id) : null;
  }

  async function openSession(principal: AgentPrincipal, request: Request, budget: DpBudgetNote | null): Promise<OpenSession> {
    const compiled = options.views.get(principal);
    const server = createKeyholeMcpServer({
      graphql: brokerGraphql(options.fetch, new URL(options.graphqlPath, request.url), request.headers.get('authorization')!),
      viewTools: viewTools(compiled.schema, compiled.view, budget),
    });
    const owner = ownerOf(principal);
    const session: OpenSession = {
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // One JSON answer per POST: no stream outlives its request, so a draining broker waits on none.
        enableJsonResponse: true,
        onsessioninitialized: (id) => sessions.add(id, owner, session),
        onsessionclosed: (id) => sessions.close(id),
      }),
      close: () => server.close(),
    };
    await server.connect(session.transport);
    return session;
  }

  return {
    close: () => sessions.closeAll(),
    plugin: (recordRefusal) => ({
      async onRequest({ request, url, endResponse }) {
        if (!isEndpoint(url, MCP_PATH)) return;
        const state = requestState(request);
        const refuse = async (code: RefusalCode, decision?: 'error') => {
          await recordRefusal(state, code, ERROR_CODES[code].message, decision);
          endResponse(refusalResponse(request, code));
        };
        if (!mcpRequestAllowed(request, options.origins)) return refuse('ORIGIN_NOT_ALLOWED');
        if (request.method === 'GET') {
          // Keyhole sends nothing unasked, so it offers no server stream (the protocol's answer for that is 405).
          return endResponse(new Response(null, { status: 405, headers: { allow: 'POST, DELETE' } }));
        }
        const principal = state.principal as AgentPrincipal;
        const sessionId = request.headers.get('mcp-session-id');
        if (sessionId !== null) {
          const session = sessions.get(sessionId, ownerOf(principal));
          if (!session) return refuse('MCP_SESSION_NOT_FOUND');
          return endResponse(await session.transport.handleRequest(request));
        }
        let budget: DpBudgetNote | null;
        try {
          budget = await budgetFor(principal);
        } catch {
          return refuse('DATABASE_UNAVAILABLE', 'error');
        }
        const session = await openSession(principal, request, budget);
        const response = await session.transport.handleRequest(request);
        // Anything but an initialize request opens nothing (the transport answered 400): drop what was built for it.
        if (session.transport.sessionId === undefined) await session.close();
        endResponse(response);
      },
    }),
  };
}
