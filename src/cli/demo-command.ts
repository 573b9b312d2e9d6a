import type { Command } from 'commander';
import { createBroker } from '../broker.ts';
import { DEMO_SESSION } from '../demo/session.ts';
import { issueToken } from '../identity/index.ts';
import { withContext } from './context.ts';

interface Reply {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
  extensions?: { withheld?: Array<{ table: string; rows: number; jurisdictions: string[] }> };
}

function summarise(reply: Reply): string {
  if (reply.errors?.length) return `refused ${reply.errors[0]!.extensions?.code ?? ''}: ${reply.errors[0]!.message}`;
  const parts = Object.entries(reply.data ?? {}).map(([field, value]) => {
    if (Array.isArray(value)) return `${field}: ${value.length} rows`;
    const groups = (value as { groups?: unknown[] } | null)?.groups;
    return groups ? `${field}: ${groups.length} noisy groups` : field;
  });
  for (const withheld of reply.extensions?.withheld ?? []) {
    parts.push(`${withheld.rows} ${withheld.table} rows of ${withheld.jurisdictions.join(', ')} subjects withheld`);
  }
  return `ok — ${parts.join('; ')}`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a scripted session of the four demo agents against the database (every request audited)')
    .option('--show', 'print each answer in full')
    .addHelpText('after', '\nAfterwards: npx keyhole report --jurisdiction EU-DE, or the dashboard at /officer.')
    .action(async (options: { show?: boolean }) => {
      await withContext('demo', async ({ root, dataDir, db }) => {
        const broker = await createBroker({ root, db, dataDir });
        for (const step of DEMO_SESSION) {
          const token = step.agent
            ? await issueToken({ keys: broker.tokenKeys, registry: broker.config.registry, subject: step.agent, purpose: step.purpose, ttlSeconds: 300 })
            : null;
          const response = await broker.fetch(
            new Request('http://keyhole.local/graphql', {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body: JSON.stringify({ query: step.query }),
            }),
          );
          const reply = (await response.json()) as Reply;
          process.stdout.write(`• ${step.what}\n  ${response.status} ${summarise(reply)}\n`);
          if (options.show) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
        }
      });
    });
}
