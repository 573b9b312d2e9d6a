import { resolveDataDir } from '../config/index.ts';
import type { Db } from './db.ts';
import { type LockHolder, openEmbeddedDb } from './embedded.ts';
import { createPgDb } from './pg-adapter.ts';

/** DATABASE_URL for messages, without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

/** Opens the configured database: DATABASE_URL, else the embedded one (taking its lock). */
export async function openDatabase(
  holder: LockHolder,
  env: NodeJS.ProcessEnv = process.env,
  options: { statementTimeoutMs?: number } = {},
): Promise<{ db: Db; where: string; created: boolean }> {
  if (env.DATABASE_URL) {
    return { db: createPgDb({ connectionString: env.DATABASE_URL, ...options }), where: redactUrl(env.DATABASE_URL), created: false };
  }
  const embedded = await openEmbeddedDb(resolveDataDir(env), holder);
  return { db: embedded.db, where: `embedded PGlite at ${embedded.dir}`, created: embedded.created };
}
