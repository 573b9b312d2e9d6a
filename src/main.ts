import { createServer } from 'node:http';
import { resolveDataDir } from './config/index.ts';
import { type Broker, createBroker } from './broker.ts';
import { useCliAdminRoute, writeAdminToken } from './cli/admin.ts';
import { buildBrokerProgram } from './cli/broker-commands.ts';
import { runProgram } from './cli/run.ts';
import { openDatabase, projectRoot } from './cli/context.ts';
import { hasDemoData, seedDemo } from './demo/index.ts';
import { createLog } from './log.ts';
import { migrate } from './sql/index.ts';
import { requestDeadlineFrom } from './graphql/yoga.ts';

const log = createLog();
const port = Number(process.env.PORT ?? 4000);
const dataDir = resolveDataDir();

const started = performance.now();
// No statement outlives a request's deadline, so a request answered DEADLINE_EXCEEDED holds no connection after.
const { db, where, created } = await openDatabase({ name: `keyhole broker (port ${port})`, port }, process.env, {
  statementTimeoutMs: requestDeadlineFrom(process.env.KEYHOLE_REQUEST_DEADLINE_MS),
});
/**
 * The embedded database is seeded on first start, and again if a first start was stopped before its seed
 * committed (the seed is one transaction: the tables are then empty, never half full).
 */
async function embeddedWithoutData(): Promise<boolean> {
  if (db.kind !== 'pglite') return false;
  return created || !(await hasDemoData(db));
}
if (await embeddedWithoutData()) {
  await migrate(db);
  const seeded = await seedDemo(db);
  log({
    msg: `created ${where} with demo data (${seeded.customers} customers, ${seeded.transactions} transactions) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  });
}
const root = projectRoot();
// CLI commands run while this process holds the embedded database are handed to it (src/cli/admin.ts).
const adminToken = await writeAdminToken(dataDir);
const runCli = (argv: string[]) => runProgram(buildBrokerProgram(), argv);
const cliRoute = useCliAdminRoute({ token: adminToken, runCli, context: () => ({ root, dataDir, config: broker.config, secrets: broker.secrets, db, where }) });
const broker: Broker = await createBroker({ root, db, dataDir, log, routes: [cliRoute] });
const server = createServer(broker.listener);
server.listen(port, () => {
  log({ msg: `keyhole listening on http://localhost:${port}/graphql (database: ${where})`, port });
});

let closing = false;
const shutdown = (signal: string) => {
  if (closing) return;
  closing = true;
  log({ msg: `${signal}: shutting down` });
  server.close();
  broker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
