import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/broker.ts';
import { type KeyholeCli, keyholeCli } from '../support/cli.ts';
import { startEmbedded, stopEmbedded } from '../support/embedded-broker.ts';

const PORT = 48_500 + (process.pid % 1000);

function embeddedCli(dataDir: string): KeyholeCli {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: PROJECT_ROOT };
  delete env.DATABASE_URL;
  delete env.PORT;
  return keyholeCli(env);
}

async function viewerWith(token: string) {
  const response = await fetch(`http://127.0.0.1:${PORT}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { agent } }' }),
  });
  return (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** The agent developer's first hour with the broker on its embedded database, and the CLI beside it. */
describe('the CLI beside a running embedded broker', () => {
  let dataDir: string;
  let otherDir: string;
  let broker: ChildProcess | undefined;
  let keyhole: KeyholeCli;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-devx-'));
    otherDir = await mkdtemp(join(tmpdir(), 'keyhole-devx-other-'));
    keyhole = embeddedCli(dataDir);
    await keyhole('db', 'init', '--demo', '--scale', '0.05');
    broker = (await startEmbedded(dataDir, PORT)).process;
  }, 120_000);
  afterAll(async () => {
    if (broker) await stopEmbedded(broker);
    await rm(dataDir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });

  it('`token` says which key it signed with and where that key came from', async () => {
    const { kid } = JSON.parse(await readFile(join(dataDir, 'token-keys.json'), 'utf8')) as { kid: string };
    const { stdout, stderr } = await keyhole('token', '--agent', 'support-bot');
    expect(stderr).toBe(
      `keyhole: signed with key "${kid}" (development key pair in ${join(dataDir, 'token-keys.json')}); the broker at http://127.0.0.1:${PORT} (it holds ${dataDir}) verifies with it\n`,
    );
    expect((await viewerWith(stdout.trim())).data).toEqual({ viewer: { agent: 'support-bot' } });
  });

  it('a token minted against another data dir says its key is new, and the broker names the key it does not hold', async () => {
    const { stdout, stderr } = await embeddedCli(otherDir)('token', '--agent', 'support-bot');
    expect(stderr).toContain(`(new development key pair, made just now in ${join(otherDir, 'token-keys.json')})`);
    const { kid } = JSON.parse(await readFile(join(otherDir, 'token-keys.json'), 'utf8')) as { kid: string };
    const error = (await viewerWith(stdout.trim())).errors![0]!;
    expect(error.extensions?.code).toBe('TOKEN_INVALID');
    expect(error.message).toContain(`signed with key "${kid}", which this broker does not hold`);
  });

  it('`demo` runs its session through the broker holding the data dir, on whatever port it serves', async () => {
    const { stdout, stderr } = await keyhole('demo', '--url', 'http://127.0.0.1:9');
    expect(stderr).toContain(`serves at http://127.0.0.1:${PORT}; the session goes there`);
    expect(stdout).toMatch(/analytics-bot: .*ε = 0\.5\n {2}200 ok — transactions_aggregate: \d+ noisy groups/);
    expect(stdout).not.toContain('INTERNAL');
  }, 60_000);
});
