import { resolveDataDir } from './config/index.ts';
import { type Broker, createBroker, loadBrokerSetup } from './broker.ts';
import { useCliAdminRoute, writeAdminToken } from './cli/admin.ts';
import { buildBrokerProgram } from './cli/broker-commands.ts';
import { runProgram } from './cli/run.ts';
import { openDatabase, projectRoot } from './cli/context.ts';
import { ConfigError } from './config/index.ts';
import { hasDemoData, seedDemo } from './demo/index.ts';
import { createBrokerServer } from './http/server.ts';
import { httpLimitsFrom } from './http/limits.ts';
import { createLog } from './log.ts';
import { type Db, migrate } from './sql/index.ts';

const log = createLog();

/** PORT: a TCP port; absent means 4000. */
function portFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 4000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PORT: expected a port number from 0 to 65535, got "${value}"`);
  return port;
}

/**
 * The embedded database is seeded on first start, and again if a first start was stopped before its seed
 * committed (the seed is one transaction: the tables are then empty, never half full).
 */
async function seedEmbeddedIfEmpty(db: Db, created: boolean, where: string): Promise<void> {
  if (db.kind !== 'pglite' || !(created || !(await hasDemoData(db)))) return;
  const started = performance.now();
  await migrate(db);
  const seeded = await seedDemo(db);
  log({
    msg: `created ${where} with demo data (${seeded.customers} customers, ${seeded.transactions} transactions) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  });
}

/** A start that fails says why in one line (a config error: every issue, each with file, line and field), no stack. */
function startFailed(error: unknown): never {
  const message = error instanceof ConfigError ? `configuration error:\n${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`keyhole: cannot start: ${message}\n`);
  process.exit(1);
}

async function start() {
  const env = process.env;
  // Everything read from files and the environment is checked before the database is opened, created or seeded.
  const port = portFrom(env.PORT);
  const limits = httpLimitsFrom(env);
  const dataDir = resolveDataDir(env);
  const root = projectRoot(env);
  const setup = await loadBrokerSetup(root, dataDir, env);
  // No statement outlives a request's deadline, so a request answered DEADLINE_EXCEEDED holds no connection after.
  const { db, where, created } = await openDatabase({ name: `keyhole broker (port ${port})`, port }, env, { statementTimeoutMs: setup.requestDeadlineMs });
  try {
    await seedEmbeddedIfEmpty(db, created, where);
    // CLI commands run while this process holds the embedded database are handed to it (src/cli/admin.ts).
    const adminToken = await writeAdminToken(dataDir);
    const runCli = (argv: string[]) => runProgram(buildBrokerProgram(), argv);
    const cliRoute = useCliAdminRoute({
      token: adminToken,
      runCli,
      context: () => ({ root, dataDir, config: broker.config, secrets: broker.secrets, db, where }),
    });
    const broker: Broker = await createBroker({ root, db, dataDir, env, log, setup, routes: [cliRoute] });
    return { broker, where, port, limits };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

const { broker, where, port, limits } = await start().catch(startFailed);
const http = createBrokerServer(broker.listener, limits, broker.drain);
http.server.listen(port, () => {
  log({ msg: `keyhole listening on http://localhost:${port}/graphql (database: ${where})`, port });
});

let closing = false;
/** Drains (see createBrokerServer), then closes the database: exit 0 only when every request in flight finished. */
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log({ msg: `${signal}: draining (at most ${limits.shutdownDeadlineMs} ms)` });
  const clean = await http.shutdown();
  const closed = await broker.close().then(
    () => true,
    () => false,
  );
  log({ level: clean && closed ? 'info' : 'error', msg: clean && closed ? 'stopped' : 'stopped with requests unfinished or the database not closed cleanly' });
  process.exit(clean && closed ? 0 : 1);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
