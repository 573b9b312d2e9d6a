import { fileURLToPath } from 'node:url';
import { type BrokerSecrets, loadBrokerSecrets, loadProjectConfig, type ProjectConfig, resolveDataDir } from '../config/index.ts';
import { createPgDb, type Db, migrate } from '../sql/index.ts';
import { type LockHolder, openEmbeddedDb } from '../sql/embedded.ts';
import { brokerContext } from './output.ts';

/** The project directory (schema/, masking-rules/): KEYHOLE_ROOT, else the package this CLI belongs to. */
export function projectRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYHOLE_ROOT || fileURLToPath(new URL('../../', import.meta.url));
}

export interface CliContext {
  root: string;
  dataDir: string;
  config: ProjectConfig;
  secrets: BrokerSecrets;
  db: Db;
  /** Where the database is, for messages. */
  where: string;
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

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

/**
 * Runs a CLI command that needs the project config and the database, closing the database afterwards.
 * Inside a broker (a command forwarded by a CLI), it uses the broker's own database and leaves it open.
 */
export async function withContext<T>(command: string, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const inBroker = brokerContext();
  if (inBroker) return fn(inBroker);
  const root = projectRoot();
  const dataDir = resolveDataDir();
  // The files first: a configuration error stops the command before a database is opened, locked or created.
  const config = await loadProjectConfig(root);
  const secrets = await loadBrokerSecrets(dataDir);
  const { db, where } = await openDatabase({ name: `keyhole ${command}` });
  try {
    await migrate(db);
    return await fn({ root, dataDir, config, secrets, db, where });
  } finally {
    await db.close();
  }
}

/** A failure the CLI reports as one clear line and a non-zero exit, without a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
