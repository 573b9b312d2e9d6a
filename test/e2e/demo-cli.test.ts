import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/broker.ts';
import { keyholeCli, type KeyholeCli } from '../support/cli.ts';

describe('keyhole demo (CLI, embedded PGlite)', () => {
  let dataDir: string;
  let keyhole: KeyholeCli;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-demo-cli-'));
    const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: PROJECT_ROOT };
    delete env.DATABASE_URL;
    keyhole = keyholeCli(env);
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('says how to get demo data when the database has none, instead of failing every query', async () => {
    const failed = await keyhole('demo').catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('holds no demo data: run `npx keyhole db init --demo` first') });
    expect((failed as { stdout: string }).stdout).not.toContain('INTERNAL');
  });

  it('runs the scripted session once the demo data is there, analytics-bot included', async () => {
    await keyhole('db', 'init', '--demo', '--scale', '0.05');
    const { stdout } = await keyhole('demo');
    expect(stdout).not.toContain('INTERNAL');
    expect(stdout).toMatch(
      /analytics-bot: average transaction amount per merchant category for EU customers, ε = 0\.5\n {2}200 ok — transactions_aggregate: \d+ noisy groups/,
    );
    expect(stdout).toContain('403 refused APPROVAL_REQUIRED');
  });
});
