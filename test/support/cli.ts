import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from './broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from './databases.ts';
import { loadWorld } from './fixtures.ts';

export type KeyholeCli = (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

/** `keyhole …` as an operator runs it: bin/keyhole.ts on this Node, with `env` as its whole environment. */
export function keyholeCli(env: NodeJS.ProcessEnv): KeyholeCli {
  return (...args) => promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), ...args], { env });
}

/**
 * A real PostgreSQL database holding the small world, a broker on it, and the CLI pointed at both (the same
 * database and data dir, so it holds the broker's keys), for tests of operator commands; all torn down after.
 */
export async function withCliWorld(test: (world: { t: TestDatabase; kh: TestBroker; keyhole: KeyholeCli }) => Promise<void>): Promise<void> {
  const t = await createPostgresTestDatabase();
  try {
    await loadWorld(t.db);
    const kh = await startTestBroker(t.db);
    try {
      await test({ t, kh, keyhole: keyholeCli({ ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: kh.dataDir, KEYHOLE_ROOT: PROJECT_ROOT }) });
    } finally {
      await kh.close();
    }
  } finally {
    await t.drop();
  }
}

/** A command's exit code and output, whether it failed or not. */
export async function cliOutcome(run: Promise<{ stdout: string; stderr: string }>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run) };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
