import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolRequestSchema, type CallToolResult, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { variablesProblem } from '../graphql/input-hygiene.ts';
import { DESCRIBE_VIEW_QUERY, viewDescriptionOf } from './describe-view.ts';
import { type GraphqlReply, queryResult, replyError, toolError } from './tool-results.ts';
import type { ViewTool } from './view-tools.ts';

/**
 * Sends one GraphQL request to the broker as the agent (its own token) and returns the HTTP reply. `caller` is what
 * the MCP transport was handed with the message the tool call came in (over HTTP: the /mcp request, by the broker).
 */
export type GraphqlCall = (query: string, variables?: Record<string, unknown>, caller?: AuthInfo) => Promise<GraphqlReply>;

/**
 * Records a tool call refused before it became a GraphQL request (no such tool, arguments outside its schema) as the
 * broker records a refused request; `reason` never repeats what the agent sent.
 */
export type RecordToolRefusal = (reason: string, caller?: AuthInfo) => Promise<void>;

export interface KeyholeMcpServerOptions {
  graphql: GraphqlCall;
  /** Tools generated from the agent's view (viewTools), served beside describe_view and query. */
  viewTools?: readonly ViewTool[];
  /** Told of each tool call refused before any GraphQL request (over HTTP, to record it). */
  refused?: RecordToolRefusal;
}

type ToolHandler = (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => Promise<CallToolResult>;

const INSTRUCTIONS =
  'Keyhole gives you a privacy-filtered view of enterprise data. Call describe_view first to learn which tables and ' +
  'fields your view contains (as a GraphQL schema), then call query with GraphQL against that schema. Fields outside ' +
  'your view do not exist; masked values stay masked. Every call is audited.';

/** A failure to reach the broker is reported to the model by its message only, never a stack. */
async function callBroker(
  graphql: GraphqlCall,
  caller: AuthInfo | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphqlReply | CallToolResult> {
  try {
    return await graphql(query, variables, caller);
  } catch (error) {
    return toolError(`BROKER_UNREACHABLE: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const isToolResult = (value: GraphqlReply | CallToolResult): value is CallToolResult => 'content' in value;

/**
 * Keyhole as an MCP server. It never touches the database: every tool call is exactly one GraphQL request
 * through the broker with the agent's own token, so identity, views, masking, DP, compliance and the audit
 * log apply to MCP exactly as to GraphQL.
 */
export function createKeyholeMcpServer(options: KeyholeMcpServerOptions): McpServer {
  const server = new McpServer({ name: 'keyhole', version: '0.1.0' }, { instructions: INSTRUCTIONS });
  const tools = new Map<string, RegisteredTool>();
  const register: McpServer['registerTool'] = (name, config, callback) => {
    const tool = server.registerTool(name, config, callback);
    tools.set(name, tool);
    return tool;
  };

  register(
    'describe_view',
    {
      title: 'Describe my data view',
      description:
        'Shows which tables and fields your agent may read (access kind, page limits) and the GraphQL schema (SDL) ' +
        'of your view, with field descriptions. Call this before writing queries.',
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (_args, { authInfo }) => {
      const reply = await callBroker(options.graphql, authInfo, DESCRIBE_VIEW_QUERY);
      if (isToolResult(reply)) return reply;
      const error = replyError(reply);
      if (error !== null) return toolError(error);
      const { viewer, sdl } = viewDescriptionOf((reply.body as { data: Record<string, unknown> }).data);
      return {
        content: [
          { type: 'text', text: `Your view:\n${JSON.stringify(viewer, null, 2)}` },
          { type: 'text', text: `GraphQL schema of your view (SDL):\n${sdl}` },
        ],
      };
    },
  );

  register(
    'query',
    {
      title: 'Query data',
      description:
        'Runs one GraphQL query against your view (see describe_view) and returns the JSON result. Masked fields ' +
        'come back masked; aggregates may carry differential-privacy noise and their cost in `extensions`. ' +
        'Refusals come back as errors with a stable code (e.g. GRAPHQL_VALIDATION_FAILED, LIMIT_EXCEEDED).',
      inputSchema: {
        query: z.string().min(1).describe('A GraphQL query document, e.g. "{ customers(limit: 5) { id email } }"'),
        variables: z
          .record(z.string(), z.unknown())
          // What the broker would refuse anyway is refused here: a value nested past its limit may be too deep to pass on as JSON.
          .superRefine((variables, context) => {
            const problem = variablesProblem(variables);
            if (problem) context.addIssue({ code: 'custom', message: problem });
          })
          .optional()
          .describe('Values for the variables the query declares'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ query, variables }, { authInfo }) => {
      const reply = await callBroker(options.graphql, authInfo, query, variables);
      return isToolResult(reply) ? reply : queryResult(reply);
    },
  );

  for (const tool of options.viewTools ?? []) {
    register(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, annotations: { readOnlyHint: true, openWorldHint: false } },
      async (args: Record<string, unknown>, { authInfo }) => {
        const { query, variables } = tool.request(args);
        const reply = await callBroker(options.graphql, authInfo, query, variables);
        return isToolResult(reply) ? reply : queryResult(reply);
      },
    );
  }

  // The SDK answers a call it cannot make (no such tool, arguments outside the tool's schema) by itself, so the
  // broker would never hear of it: an agent could probe for a hidden field through a tool's `fields` or `where`
  // and leave no trace. Such a call is refused here instead, and recorded.
  server.server.setRequestHandler(CallToolRequestSchema, async ({ params }, extra) => {
    const refuse = async (reason: string, told = reason) => {
      await options.refused?.(reason, extra.authInfo);
      return toolError(`INVALID_ARGUMENT: ${told}`);
    };
    const tool = tools.get(params.name);
    if (!tool) return refuse('No tool of that name is in this session.');
    const input = await z.safeParseAsync(tool.inputSchema as z.ZodType, params.arguments ?? {});
    if (!input.success)
      return refuse(`The arguments are outside the input schema of ${params.name}.`, `Input validation error: ${z.prettifyError(input.error)}`);
    return (tool.handler as ToolHandler)(input.data, extra);
  });

  return server;
}
