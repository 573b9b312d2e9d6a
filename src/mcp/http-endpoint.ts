import { randomUUID } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isJSONRPCNotification, isJSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Plugin } from 'graphql-yoga';
import { markAdmitted } from '../graphql/plugins/use-rate-limit.ts';
import type { CompiledView, ViewSchemaCache } from '../graphql/view-schemas.ts';
import { isEndpoint } from '../http/endpoint.ts';
import { type AgentPrincipal, presentedToken } from '../identity/index.ts';
import type { RecordRefusal } from '../request/audit-draft.ts';
import { refusalResponse } from '../request/refusal-response.ts';
import { ERROR_CODES, errorCodeOf, isRefusal, type RefusalCode } from '../request/refusals.ts';
import { requestState } from '../request/state.ts';
import { type McpOriginPolicy, mcpRequestAllowed } from './http-origins.ts';
import { McpSessions, ownerOf } from './http-sessions.ts';
import { createKeyholeMcpServer, type GraphqlCall, type RecordToolRefusal } from './server.ts';
import { type DpBudgetNote, viewTools } from './view-tools.ts';

export const MCP_PATH = '/mcp';

/** The methods /mcp takes: POST carries JSON-RPC, DELETE closes a session, GET asks for a server stream (refused: 405). */
export const MCP_METHODS: readonly string[] = ['POST', 'GET', 'DELETE'];

/**
 * How many requests one /mcp request counts for against the agent's rate limit: one per JSON-RPC message it carries
 * (a batch holds several), at least one. A tool call is counted here, with every other message, and not again as the
 * GraphQL request it becomes (brokerGraphql marks that one admitted). Counted on its GraphQL request instead, a tool
 * call that never becomes one would count for nothing: one without a session (an McpServer built and dp_budget read
 * before the transport refuses the POST) or one refused with a record of its own (no such tool, bad arguments).
 * The GraphQL request still charges its rows.
 */
export async function mcpRequestsIn(request: Request): Promise<number> {
  if (request.method !== 'POST') return 1;
  const body: unknown = await request
    .clone()
    .json()
    .catch(() => undefined);
  return Array.isArray(body) ? Math.max(1, body.length) : 1;
}

/** How a tool call's audit record names its way in (`details.transport`). */
export const MCP_HTTP_TRANSPORT = 'mcp-http';
/** `details.transport` of a tool call that came through `keyhole mcp` (stdio), by the client's own account. */
export const MCP_STDIO_TRANSPORT = 'mcp-stdio';
/**
 * The client name `keyhole mcp` (the stdio bridge) introduces itself with. A session opened under it has its calls
 * recorded as `mcp-stdio`: a claim, which any client holding the agent's token could also make; who acts is still
 * decided by the token alone.
 */
export const MCP_STDIO_CLIENT = 'keyhole-mcp-stdio';

const transportOf = (server: McpServer): string => (server.server.getClientVersion()?.name === MCP_STDIO_CLIENT ? MCP_STDIO_TRANSPORT : MCP_HTTP_TRANSPORT);

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

/** The /mcp request each caller (AuthInfo) handed to the SDK stands for: only this module's code can put one here. */
const mcpRequests = new WeakMap<AuthInfo, Request>();

/**
 * What a tool call is told of the /mcp request it came in, identified (token, DPoP, revocation) before MCP saw it.
 * Handed to the SDK's transport as its AuthInfo, which only the broker's code sets: no message an agent sends can
 * name another request.
 */
function callerOf(request: Request, principal: AgentPrincipal): AuthInfo {
  const token = presentedToken(request.headers.get('authorization'))?.token ?? '';
  const caller: AuthInfo = { token, clientId: principal.id, scopes: [], expiresAt: Math.floor(principal.expiresAt.getTime() / 1000) };
  mcpRequests.set(caller, request);
  return caller;
}

/** The /mcp request a tool call came in, which it acts for. */
function mcpRequestOf(caller: AuthInfo | undefined): Request {
  const request = caller && mcpRequests.get(caller);
  if (!request) throw new Error('this tool call came without the /mcp request it answers, so it has no one to act as');
  return request;
}

/**
 * GraphQL through the broker's own pipeline with the Authorization of the /mcp request the tool call came in,
 * marked as a tool call on /mcp. The token is verified again there (signature, expiry, revocation); its DPoP proof
 * is not: that proof was for /mcp, verified and spent there moments ago, and the inner request is the broker's own,
 * so it carries the /mcp request's DPoP result in request state, which no header can set. The rate limit counted
 * the tool call on /mcp (mcpRequestsIn), so it does not count this request again.
 */
function brokerGraphql(fetch: McpEndpointOptions['fetch'], graphqlPath: string, transport: () => string): GraphqlCall {
  return async (query, variables, caller) => {
    const mcpRequest = mcpRequestOf(caller);
    const request = new Request(new URL(graphqlPath, mcpRequest.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: mcpRequest.headers.get('authorization') ?? '',
      },
      body: JSON.stringify({ query, variables }),
    });
    markAdmitted(request);
    const state = requestState(request);
    state.access.transport = transport();
    state.dpopPassedToken = requestState(mcpRequest).dpopPassedToken;
    const response = await fetch(request);
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

/**
 * A tool call refused before it became a GraphQL request gets a record of its own (its own request id: a batch may
 * carry several), as the agent of the /mcp request it came in.
 */
function toolRefusalRecorder(recordRefusal: RecordRefusal, transport: () => string): RecordToolRefusal {
  return async (reason, caller) => {
    const mcpRequest = mcpRequestOf(caller);
    const outer = requestState(mcpRequest);
    const state = requestState(new Request(mcpRequest.url));
    state.principal = outer.principal;
    state.access.rulesVersion = outer.access.rulesVersion;
    state.access.transport = transport();
    await recordRefusal(state, 'INVALID_ARGUMENT', reason);
  };
}

interface OpenSession {
  transport: WebStandardStreamableHTTPServerTransport;
  /** JSON-RPC ids of this session's requests that await their responses. */
  awaitingIds: Set<RequestId>;
  /** POSTs of this session not answered yet, each told when the session closes. */
  waitingPosts: Set<() => void>;
  close(): Promise<void>;
}

type Refusal = (code: RefusalCode, decision?: 'error', message?: string) => Promise<Response>;

const isCancellation = (message: unknown) => isJSONRPCNotification(message) && message.method === 'notifications/cancelled';

/**
 * One /mcp request through its session's transport. The transport answers a POST once each request in it has its
 * response, matched by JSON-RPC id; a POST left without one would stay open for good, holding its connection. So a
 * request under an id that already awaits its response (it would take that response) is refused; a cancellation is
 * not passed on (the SDK would then send no response, while the call's GraphQL request runs to its end anyway); and
 * a POST still waiting when its session closes is answered as one of a lost session.
 */
async function answer(session: OpenSession, request: Request, caller: AuthInfo, refusal: Refusal): Promise<Response> {
  const body: unknown =
    request.method === 'POST'
      ? await request
          .clone()
          .json()
          .catch(() => undefined)
      : undefined;
  // A DELETE, or a body that is no JSON (the transport refuses it as it parses it), is answered at once.
  if (body === undefined) return session.transport.handleRequest(request, { authInfo: caller });
  const messages = (Array.isArray(body) ? body : [body]).filter((message) => !isCancellation(message));
  if (messages.length === 0) return new Response(null, { status: 202 });
  const ids = messages.filter(isJSONRPCRequest).map((message) => message.id);
  if (ids.some((id) => session.awaitingIds.has(id))) {
    return refusal('BAD_REQUEST', undefined, 'A request under this JSON-RPC id still awaits its response in this session; use another id.');
  }
  for (const id of ids) session.awaitingIds.add(id);
  const { promise: sessionClosed, resolve: tellClosed } = Promise.withResolvers<void>();
  session.waitingPosts.add(tellClosed);
  try {
    const parsedBody = Array.isArray(body) ? messages : messages[0];
    const answered = await Promise.race([session.transport.handleRequest(request, { authInfo: caller, parsedBody }), sessionClosed]);
    return answered ?? (await refusal('MCP_SESSION_NOT_FOUND'));
  } finally {
    session.waitingPosts.delete(tellClosed);
    for (const id of ids) session.awaitingIds.delete(id);
  }
}

/**
 * MCP over streamable HTTP at /mcp, served once identity, the revocation check, the drain gate and the rate limit
 * (mcpRequestsIn) have passed the request (see AgentYogaOptions.agentEndpoint), so a missing, forged, expired or
 * revoked token, or an agent over its limit, gets the same refusal and the same audit record as on /graphql. A
 * session is opened by an `initialize` POST and bound to the agent and token that sent it; its tools come from that
 * agent's compiled view. Tool calls are GraphQL requests through the broker and recorded as such; protocol messages
 * that release no data (initialize, tools/list, ping, closing) are not.
 */
export function mcpEndpoint(options: McpEndpointOptions): { plugin: (recordRefusal: RecordRefusal) => Plugin; close: () => Promise<void> } {
  const sessions = new McpSessions<OpenSession>(options.sessionsPerAgent);

  /** What the DP tools' descriptions say of the budget: read only for a view that has DP aggregates. */
  async function budgetFor(principal: AgentPrincipal, { view }: CompiledView): Promise<DpBudgetNote | null> {
    const hasDp = [...view.tables.values()].some((table) => table.policy.access === 'aggregates');
    return hasDp ? options.budgetNote(principal.id) : null;
  }

  async function openSession(
    principal: AgentPrincipal,
    compiled: CompiledView,
    budget: DpBudgetNote | null,
    recordRefusal: RecordRefusal,
  ): Promise<OpenSession> {
    const transport = () => transportOf(server);
    const server = createKeyholeMcpServer({
      graphql: brokerGraphql(options.fetch, options.graphqlPath, transport),
      viewTools: viewTools(compiled.schema, compiled.view, budget),
      refused: toolRefusalRecorder(recordRefusal, transport),
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
      awaitingIds: new Set(),
      waitingPosts: new Set(),
      close: () => {
        for (const tellClosed of session.waitingPosts) tellClosed();
        return server.close();
      },
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
        const refusal: Refusal = async (code, decision, message = ERROR_CODES[code].message) => {
          await recordRefusal(state, code, message, decision);
          return refusalResponse(request, code, message);
        };
        const refuse = async (...args: Parameters<Refusal>) => endResponse(await refusal(...args));
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
          return endResponse(await answer(session, request, callerOf(request, principal), refusal));
        }
        let compiled: CompiledView;
        try {
          compiled = options.views.get(principal);
        } catch (error) {
          // The policy refuses this principal any view (DELEGATION_REQUIRED, DELEGATION_CLAIM_MISSING): no tools, its code.
          if (!isRefusal(error)) throw error;
          return refuse(errorCodeOf(error) as RefusalCode, undefined, (error as Error).message);
        }
        let budget: DpBudgetNote | null;
        try {
          budget = await budgetFor(principal, compiled);
        } catch {
          return refuse('DATABASE_UNAVAILABLE', 'error');
        }
        const session = await openSession(principal, compiled, budget, recordRefusal);
        const response = await answer(session, request, callerOf(request, principal), refusal);
        // Anything but an initialize request opens nothing (the transport answered 400): drop what was built for it.
        if (session.transport.sessionId === undefined) await session.close();
        endResponse(response);
      },
    }),
  };
}
