/**
 * One server under load, in a process of its own so its CPU time can be read apart from the load
 * generator's: `node server-process.ts <pg|postgraphile|keyhole>` with BENCH_DATABASE_URL set. It
 * listens on a free port of 127.0.0.1, reports `{ type: 'ready', port, token }` over IPC, and answers
 * `{ type: 'stats' }` with its CPU time and the SQL statements its `pg` clients have sent so far.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ServerKind, ServerMessage, StatementCounts } from './servers.ts';

const kind = process.argv[2] as ServerKind;
const connectionString = process.env.BENCH_DATABASE_URL!;
const POOL_SIZE = 10;

/** Every statement any `pg` client in this process sends (the servers' own pools included), by its opening words. */
const statements: StatementCounts = { total: 0, transactionControl: 0, byShape: {} };
const originalQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
(pg.Client.prototype as { query: (...args: unknown[]) => unknown }).query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  const config = args[0] as string | { text?: string } | undefined;
  const text = (typeof config === 'string' ? config : (config?.text ?? '')).trim();
  if (/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i.test(text)) statements.transactionControl++;
  else {
    statements.total++;
    const shape = text.replace(/\s+/g, ' ').slice(0, 60);
    statements.byShape[shape] = (statements.byShape[shape] ?? 0) + 1;
  }
  return originalQuery.apply(this, args);
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The baseline: one parameterised SELECT on a plain pool, rows JSON-encoded as they come. */
async function bareServer(): Promise<{ server: Server; token: null; close: () => Promise<void> }> {
  const pool = new pg.Pool({ connectionString, max: POOL_SIZE });
  const server = createServer(async (req, res) => {
    try {
      const { limit } = JSON.parse(await readBody(req)) as { limit: number };
      const { rows } = await pool.query('SELECT id, residency, segment, created_at FROM customers ORDER BY id LIMIT $1', [limit]);
      const body = JSON.stringify({ data: { customers: rows } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  return { server, token: null, close: () => pool.end() };
}

async function postgraphileServer(): Promise<{ server: Server; token: null; close: () => Promise<void> }> {
  const { postgraphile } = await import('postgraphile');
  const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
  const { makePgService } = await import('postgraphile/adaptors/pg');
  const { grafserv } = await import('postgraphile/grafserv/node');
  const pgl = postgraphile({
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ connectionString, schemas: ['public'], poolConfig: { max: POOL_SIZE } })],
    grafserv: { graphiql: false, watch: false },
  });
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server, false);
  await pgl.getSchema();
  return { server, token: null, close: async () => void (await pgl.release()) };
}

async function keyholeServer(): Promise<{ server: Server; token: string; close: () => Promise<void> }> {
  const { createBroker } = await import('../../src/broker.ts');
  const { createPgDb } = await import('../../src/sql/index.ts');
  const { issueToken } = await import('../../src/identity/index.ts');
  const { KeyholeMetrics } = await import('../../src/ops/metrics.ts');
  const { createMetricsServer } = await import('../../src/ops/metrics-server.ts');
  const { startTracing } = await import('../../src/ops/tracing.ts');
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-bench-'));
  const root = process.env.BENCH_ROOT!;
  // The operations options the broker process has (src/main.ts): metrics on BENCH_METRICS_PORT, OTEL_* tracing.
  const metrics = process.env.BENCH_METRICS_PORT ? new KeyholeMetrics() : undefined;
  if (metrics) createMetricsServer(metrics).listen(Number(process.env.BENCH_METRICS_PORT), '127.0.0.1').unref();
  const tracing = startTracing({ env: process.env });
  const broker = await createBroker({ root, db: createPgDb({ connectionString, max: POOL_SIZE }), dataDir, env: {}, metrics });
  const token = await issueToken({
    keys: broker.tokenKeys,
    registry: broker.config.registry,
    subject: process.env.BENCH_AGENT ?? 'support-bot',
    ttlSeconds: 3600,
  });
  return {
    server: createServer(broker.listener as RequestListener),
    token,
    close: async () => {
      await broker.close();
      await tracing?.shutdown();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const SERVERS = { pg: bareServer, postgraphile: postgraphileServer, keyhole: keyholeServer };

const { server, token, close } = await SERVERS[kind]();
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send!({ type: 'ready', port, token } satisfies ServerMessage);
});

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    process.send!({ type: 'stats', cpuMs: (cpu.user + cpu.system) / 1000, statements } satisfies ServerMessage);
  } else if (message.type === 'stop') {
    server.closeAllConnections();
    server.close();
    close().finally(() => process.exit(0));
  }
});
