import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command } from 'commander';
import { createLog } from '../log.ts';
import { BrokerConnectError, mcpEndpointUrl, openStdioBridge, type StdioBridge } from '../mcp/index.ts';
import { CliError } from './context.ts';

interface McpOptions {
  url: string;
  token?: string;
  tokenEnv: string;
}

function agentToken(options: McpOptions, env: NodeJS.ProcessEnv): string {
  const token = options.token ?? env[options.tokenEnv];
  if (!token) throw new CliError(`no agent token: set ${options.tokenEnv} (e.g. KEYHOLE_TOKEN=$(npx keyhole token --agent support-bot)) or pass --token`, 2);
  return token;
}

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description(
      "Serve MCP (Model Context Protocol) on stdio: the tools the broker's /mcp generates for the token's agent, each call forwarded there and audited",
    )
    .option('--url <url>', "the running broker's base URL", 'http://localhost:4000')
    .option('--token <token>', 'the agent token (prefer --token-env: command lines are visible to other users)')
    .option('--token-env <name>', 'environment variable holding the agent token', 'KEYHOLE_TOKEN')
    .addHelpText(
      'after',
      '\nstdout carries the protocol; logs go to stderr. An MCP host (e.g. Claude Desktop) starts it as:\n' +
        '  command: npx\n  args: ["keyhole", "mcp", "--url", "http://localhost:4000", "--token-env", "KEYHOLE_TOKEN"]\n' +
        '  env: { "KEYHOLE_TOKEN": "<output of: npx keyhole token --agent support-bot --ttl 8h>" }\nSee docs/mcp.md.',
    )
    .action(async (options: McpOptions) => {
      const token = agentToken(options, process.env);
      let endpoint: URL;
      try {
        endpoint = mcpEndpointUrl(options.url);
      } catch {
        throw new CliError(`--url is not a URL: ${options.url}`, 2);
      }
      const log = createLog(process.stderr);
      let bridge: StdioBridge;
      try {
        bridge = await openStdioBridge(endpoint, token);
      } catch (error) {
        if (error instanceof BrokerConnectError) throw new CliError(error.message, 1);
        throw error;
      }
      // The host ends the server by closing stdin (then signals it): the broker's session ends with it.
      process.stdin.once('end', () => void bridge.close());
      await bridge.server.connect(new StdioServerTransport());
      log({ msg: 'MCP server listening on stdio', broker: endpoint.toString() });
    });
}
