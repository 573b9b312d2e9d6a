import { loadBrokerSecrets, loadProjectConfig, projectRoot, resolveDataDir } from '../config/index.ts';
import { migrate } from '../sql/index.ts';
import { openDatabase } from '../sql/open-database.ts';
import { brokerContext, type CliContext } from './output.ts';

export type { CliContext } from './output.ts';

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
