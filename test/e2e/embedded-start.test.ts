import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, openEmbeddedDb } from '../../src/sql/embedded.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { keyholeCli } from '../support/cli.ts';
import { startEmbedded, stopEmbedded as stop } from '../support/embedded-broker.ts';

const PORT_BASE = 47_000 + (process.pid % 1000);

describe('npm start on the embedded database', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('creates and seeds it on first start (one log line), locks it, runs CLI commands for others, and keeps it across restarts', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-embedded-'));
    const first = await startEmbedded(dataDir, PORT_BASE);
    const created = first
      .output()
      .split('\n')
      .filter((line) => line.includes('with demo data'));
    expect(created).toHaveLength(1);
    expect(JSON.parse(created[0]!).msg).toMatch(/^created embedded PGlite at .* with demo data \(10000 customers, 100000 transactions\) in [\d.]+ s$/);

    // A CLI command that needs the database is handed to the broker holding it, and runs on its database.
    const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: PROJECT_ROOT };
    delete env.DATABASE_URL;
    const cli = keyholeCli(env);
    expect((await cli('agents', 'list')).stdout).toContain('support-bot');
    expect((await cli('audit', 'verify')).stdout).toMatch(/^audit chain OK: \d+ records verified/);
    const refused = await cli('agents', 'revoke', 'nobody', '--reason', 'test').catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown agent "nobody"') });

    // The key holder's commands are never handed to the broker (it loads no secret-key code).
    const keyHolder = await cli('he', 'encrypt-column', '--table', 'employees', '--column', 'salary', '--key', 'k').catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(keyHolder).toMatchObject({ code: 1, stderr: expect.stringContaining('is held by keyhole broker') });

    // Without the data dir's secret, the broker runs nothing.
    const port = PORT_BASE;
    const forged = await fetch(`http://127.0.0.1:${port}/admin/cli`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-keyhole-admin': 'guess' },
      body: JSON.stringify({ argv: ['agents', 'list'] }),
    });
    expect(forged.status).toBe(403);

    // Any other opener is told who holds the directory, and touches nothing.
    const second = await openEmbeddedDb(dataDir, { name: 'a test' }).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(DataDirLockedError);
    expect((second as Error).message).toMatch(/held by keyhole broker \(port \d+\) \(pid \d+/);
    await stop(first.process);

    const again = await startEmbedded(dataDir, PORT_BASE + 1);
    expect(again.output()).not.toContain('with demo data');
    await stop(again.process);
  }, 120_000);
});
