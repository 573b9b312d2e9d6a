/**
 * An agent that answers one question through Keyhole over MCP (streamable HTTP), with the SDK's own client:
 * "How many of our customers live in each jurisdiction?"
 *
 *   npm start                                               # the broker, MCP at http://localhost:4000/mcp
 *   export KEYHOLE_TOKEN=$(npx keyhole token --agent analytics-bot)
 *   npx node examples/mcp-agent.ts                          # or KEYHOLE_URL=https://keyhole.example.com
 *
 * It picks the tool its view offers, as a model would from the tool list: a differentially private count
 * (aggregate_customers, for an analytics agent) or a page of masked rows (list_customers, for a support agent).
 * Every call is one audited GraphQL request inside the broker; a refusal comes back as a tool error with its code.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

interface NoisyCount {
  value: number;
  low: number;
  high: number;
}

/** The parts of the answers this agent reads (the tools' GraphQL selections hold more). */
interface Answers {
  customers_aggregate: { cost: { epsilon: number }; groups: Array<{ key: { residency: string }; count: NoisyCount }> };
  customers: Array<{ residency: string }>;
}

/** The answer's JSON: the tool returns a fixed notice first, then the data (see docs/mcp.md, "Untrusted text"). */
function dataOf(result: ToolResult): Answers {
  const text = result.content.map((block) => block.text ?? '').join('\n');
  if (result.isError) throw new Error(`Keyhole refused: ${text}`);
  return JSON.parse(result.content.at(-1)!.text!).data;
}

async function customersByJurisdiction(client: Client, tools: readonly string[]): Promise<string> {
  if (tools.includes('aggregate_customers')) {
    const result = await client.callTool({ name: 'aggregate_customers', arguments: { epsilon: 0.1, groupBy: ['residency'] } });
    const { groups, cost } = dataOf(result as ToolResult).customers_aggregate;
    const lines = groups.map((g) => `  ${g.key.residency}: about ${Math.round(g.count.value)} (95%: ${Math.round(g.count.low)}–${Math.round(g.count.high)})`);
    return `Customers per jurisdiction (differentially private, cost ε = ${cost.epsilon}):\n${lines.join('\n')}`;
  }
  if (tools.includes('list_customers')) {
    const result = await client.callTool({ name: 'list_customers', arguments: { fields: ['residency'], limit: 50 } });
    const counts = new Map<string, number>();
    for (const { residency } of dataOf(result as ToolResult).customers) counts.set(residency, (counts.get(residency) ?? 0) + 1);
    const lines = [...counts].map(([jurisdiction, n]) => `  ${jurisdiction}: ${n}`);
    return `Customers per jurisdiction on the first page this view allows:\n${lines.join('\n')}`;
  }
  return `This agent's view has no customer tool (it offers: ${tools.join(', ')}).`;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const token = env.KEYHOLE_TOKEN;
  if (!token) throw new Error('set KEYHOLE_TOKEN, e.g. export KEYHOLE_TOKEN=$(npx keyhole token --agent analytics-bot)');
  const url = new URL('/mcp', env.KEYHOLE_URL ?? 'http://localhost:4000');
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'keyhole-example-agent', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    return await customersByJurisdiction(
      client,
      tools.map((tool) => tool.name),
    );
  } finally {
    await transport.terminateSession();
    await client.close();
  }
}

if (import.meta.main) {
  main().then(
    (answer) => console.log(answer),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    },
  );
}
