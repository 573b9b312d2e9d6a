import type { Plugin } from 'graphql-yoga';
import { type Broker, createBroker, loadBrokerSetup } from './broker.ts';
import { ConfigError, projectRoot, resolveDataDir } from './config/index.ts';
import { hasDemoData, seedDemo } from './demo/index.ts';
import { type HttpLimits, httpLimitsFrom } from './http/limits.ts';
import { requestDeadlineFrom } from './http/request-deadline.ts';
import { lastValidRulesSetup, startsOnLastValidRules } from './last-valid-rules.ts';
import { type BrokerServer, createBrokerServer } from './http/server.ts';
import type { Log } from './log.ts';
import { type Db, migrate } from './sql/index.ts';
import { openDatabase } from './sql/open-database.ts';
import { KeyholeMetrics } from './ops/metrics.ts';
import { createMetricsServer, metricsPortFrom } from './ops/metrics-server.ts';
import { startTracing, type Tracing } from './ops/tracing.ts';

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
async function seedEmbeddedIfEmpty(db: Db, created: boolean, where: string, log: Log): Promise<void> {
  if (db.kind !== 'pglite' || !(created || !(await hasDemoData(db)))) return;
  const started = performance.now();
  await migrate(db);
  const seeded = await seedDemo(db);
  log({
    msg: `created ${where} with demo data (${seeded.customers} customers, ${seeded.transactions} transactions) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  });
}

/** What a serving process has opened, for routes that run next to the broker (the CLI's hand-over). */
export interface OpenedBroker {
  root: string;
  dataDir: string;
  db: Db;
  /** Where the database is, for messages. */
  where: string;
  /** The broker, once created: only call it while serving a request. */
  broker: () => Broker;
}

export interface ServeOptions {
  env: NodeJS.ProcessEnv;
  log: Log;
  /** Routes served beside the broker's own, given what was opened (the CLI passes its hand-over route). */
  routes?: (opened: OpenedBroker) => Promise<Plugin[]>;
}

interface Started {
  broker: Broker;
  where: string;
  port: number;
  limits: HttpLimits;
  /** KEYHOLE_METRICS_PORT and what to serve there, when metrics are on. */
  metrics: { port: number; metrics: KeyholeMetrics } | undefined;
}

async function startBroker({ env, log, routes }: ServeOptions): Promise<Started> {
  // Everything read from files and the environment is checked before the database is opened, created or seeded.
  const port = portFrom(env.PORT);
  const metricsPort = metricsPortFrom(env.KEYHOLE_METRICS_PORT);
  const metrics = metricsPort === undefined ? undefined : { port: metricsPort, metrics: new KeyholeMetrics() };
  const limits = httpLimitsFrom(env);
  const dataDir = resolveDataDir(env);
  const root = projectRoot(env);
  // Invalid files refuse the start here, unless told to start on the last valid rules version stored (which needs the database).
  const onDisk = await loadBrokerSetup(root, dataDir, env).catch((error: unknown) => {
    if (error instanceof ConfigError && startsOnLastValidRules(env)) return error;
    throw error;
  });
  const requestDeadlineMs = onDisk instanceof ConfigError ? requestDeadlineFrom(env.KEYHOLE_REQUEST_DEADLINE_MS) : onDisk.requestDeadlineMs;
  // No statement outlives a request's deadline, so a request answered DEADLINE_EXCEEDED holds no connection after.
  const { db, where, created } = await openDatabase({ name: `keyhole broker (port ${port})`, port }, env, { statementTimeoutMs: requestDeadlineMs });
  try {
    await seedEmbeddedIfEmpty(db, created, where, log);
    const served = onDisk instanceof ConfigError ? await lastValidRulesSetup(db, dataDir, env, onDisk, log) : { root, setup: onDisk };
    let serving: Broker | undefined;
    const broker = () => {
      if (!serving) throw new Error('the broker is not serving yet');
      return serving;
    };
    const extra = (await routes?.({ root, dataDir, db, where, broker })) ?? [];
    serving = await createBroker({
      root: served.root,
      db,
      dataDir,
      env,
      log,
      setup: served.setup,
      routes: extra,
      pendingProblems: onDisk instanceof ConfigError ? onDisk.issues : undefined,
      metrics: metrics?.metrics,
    });
    return { broker: serving, where, port, limits, metrics };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** On SIGINT or SIGTERM: drains (see createBrokerServer), then closes the database; exit 0 only when every request in flight finished. */
function stopOnSignals(http: BrokerServer, broker: Broker, limits: HttpLimits, log: Log, tracing: Tracing | undefined): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log({ msg: `${signal}: draining (at most ${limits.shutdownDeadlineMs} ms)` });
    const clean = await http.shutdown();
    const closed = await broker.close().then(
      () => true,
      () => false,
    );
    // The spans of the last requests are exported before the process ends; an unreachable collector loses them.
    await tracing?.shutdown().catch(() => undefined);
    log({
      level: clean && closed ? 'info' : 'error',
      msg: clean && closed ? 'stopped' : 'stopped with requests unfinished or the database not closed cleanly',
    });
    process.exit(clean && closed ? 0 : 1);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * Runs the broker process: configuration checked first, the database opened (the embedded one created and
 * seeded on first start), the broker listening on PORT until SIGINT or SIGTERM drains it. A start that cannot
 * happen throws before anything listens.
 */
export async function serveBroker(options: ServeOptions): Promise<void> {
  // Before the database is opened and the server listens, so every request and statement is traced (OTEL_*: off by default).
  const tracing = startTracing({ env: options.env });
  const { broker, where, port, limits, metrics } = await startBroker(options);
  const http = createBrokerServer(broker.listener, limits, broker.drain);
  if (metrics) {
    const metricsServer = createMetricsServer(metrics.metrics);
    metricsServer.listen(metrics.port, () => options.log({ msg: `metrics on http://localhost:${metrics.port}/metrics`, metricsPort: metrics.port }));
    // Scraped until the process exits, so a drain stays visible; never holds the process open on its own.
    metricsServer.unref();
  }
  http.server.listen(port, () => {
    options.log({ msg: `keyhole listening on http://localhost:${port}/graphql (database: ${where})`, port });
  });
  stopOnSignals(http, broker, limits, options.log, tracing);
}
