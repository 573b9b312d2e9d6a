import type { Command } from 'commander';
import { createBroker } from '../broker.ts';
import { hasDemoData } from '../demo/index.ts';
import { DEMO_SESSION } from '../demo/session.ts';
import { type AgentRegistry, loadProjectConfig, projectRoot, resolveDataDir } from '../config/index.ts';
import { issueToken, loadTokenKeys } from '../identity/index.ts';
import { DataDirLockedError } from '../sql/embedded.ts';
import { CliError, withContext } from './context.ts';
import { stderr, stdout } from './output.ts';

interface Reply {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
  extensions?: { withheld?: Array<{ table: string; jurisdictions: string[] }> };
}

function summarise(reply: Reply): string {
  if (reply.errors?.length) return `refused ${reply.errors[0]!.extensions?.code ?? ''}: ${reply.errors[0]!.message}`;
  const parts = Object.entries(reply.data ?? {}).map(([field, value]) => {
    if (Array.isArray(value)) return `${field}: ${value.length} rows`;
    const groups = (value as { groups?: unknown[] } | null)?.groups;
    return groups ? `${field}: ${groups.length} noisy groups` : field;
  });
  for (const withheld of reply.extensions?.withheld ?? []) {
    parts.push(`${withheld.table} rows of ${withheld.jurisdictions.join(', ')} subjects withheld`);
  }
  return `ok — ${parts.join('; ')}`;
}

type Send = (token: string | null, query: string) => Promise<{ status: number; reply: Reply }>;

async function runSession(send: Send, token: (agent: string, purpose?: string) => Promise<string>, show: boolean): Promise<void> {
  for (const step of DEMO_SESSION) {
    const { status, reply } = await send(step.agent ? await token(step.agent, step.purpose) : null, step.query);
    stdout().write(`• ${step.what}\n  ${status} ${summarise(reply)}\n`);
    if (show) stdout().write(`${JSON.stringify(reply, null, 2)}\n`);
  }
}

function graphqlRequest(url: string, token: string | null, query: string): Request {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
}

/** A broker already serving at `url` (it holds the embedded database, so the session goes through it). */
async function brokerAt(url: string): Promise<boolean> {
  return fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a scripted session of the four demo agents (every request audited)')
    .option('--url <url>', 'a running broker to send the session to', `http://localhost:${process.env.PORT ?? 4000}`)
    .option('--show', 'print each answer in full')
    .addHelpText(
      'after',
      '\nUses the running broker at --url when there is one, else runs a broker in this process.\nAfterwards: npx keyhole report --jurisdiction EU-DE, or the dashboard at /officer.',
    )
    .action(async (options: { url: string; show?: boolean }) => {
      const config = await loadProjectConfig(projectRoot());
      const show = options.show ?? false;
      if (await brokerAt(options.url)) return sessionThrough(options.url, config.registry, show);
      try {
        await sessionInProcess(show);
      } catch (error) {
        // The broker holding the embedded database is the one to ask, whatever port it serves on.
        if (!(error instanceof DataDirLockedError) || error.brokerPort === undefined) throw error;
        const url = `http://127.0.0.1:${error.brokerPort}`;
        stderr().write(`keyhole: the broker holding ${resolveDataDir()} serves at ${url}; the session goes there\n`);
        await sessionThrough(url, config.registry, show);
      }
    });
}

/** The session through a running broker's HTTP endpoint. */
async function sessionThrough(url: string, registry: AgentRegistry, show: boolean): Promise<void> {
  // Tokens are signed with the same development keys the broker checks (the data dir's token-keys.json).
  const keys = await loadTokenKeys(resolveDataDir());
  const token = (agent: string, purpose?: string) => issueToken({ keys, registry, subject: agent, purpose, ttlSeconds: 300 });
  const send: Send = async (bearer, query) => {
    const response = await fetch(graphqlRequest(new URL('/graphql', url).toString(), bearer, query));
    return { status: response.status, reply: (await response.json()) as Reply };
  };
  await runSession(send, token, show);
}

/** The session through a broker made in this process, on the database no one else holds. */
async function sessionInProcess(show: boolean): Promise<void> {
  await withContext('demo', async ({ root, dataDir, db, where }) => {
    if (!(await hasDemoData(db))) {
      throw new CliError(`${where} holds no demo data: run \`npx keyhole db init --demo\` first (\`npm start\` also seeds an empty embedded database)`);
    }
    const broker = await createBroker({ root, db, dataDir });
    const token = (agent: string, purpose?: string) =>
      issueToken({ keys: broker.tokenKeys, registry: broker.config.registry, subject: agent, purpose, ttlSeconds: 300 });
    const send: Send = async (bearer, query) => {
      const response = await broker.fetch(graphqlRequest('http://keyhole.local/graphql', bearer, query));
      return { status: response.status, reply: (await response.json()) as Reply };
    };
    try {
      await runSession(send, token, show);
    } finally {
      broker.stop();
    }
  });
}
