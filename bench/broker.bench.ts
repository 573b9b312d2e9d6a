/**
 * DESIGN.md's performance comparison: the same 50-row customers page served over real HTTP on 127.0.0.1 by
 * (a) a bare `pg` + node:http server, (b) PostGraphile 5 (grafserv on node:http, Amber preset) and
 * (c) Keyhole (support-bot, masking and audit on), one after another against one freshly seeded database,
 * each server in a child process so its CPU time per request is its own. Target: Keyhole above PostGraphile.
 * Three shapes: cheap clear fields, support-bot's page with its five masked fields, and customers with their
 * accounts. BENCH_PROFILE=1 also profiles Keyhole's process and reports where its CPU went.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchDatabase, createBenchDatabase } from './support/database.ts';
import { createLoadClient, LoadFailedError, type LoadResult } from './support/load.ts';
import { profileTable, summariseProfileDir } from './support/profile-summary.ts';
import { projectWith } from '../test/support/project.ts';
import { type RunningServer, type ServerKind, startServer, type StatementCounts } from './support/servers.ts';
import { machineBusyMs, ms, ratio } from './support/stats.ts';

/** The middle count is where the per-shape statements and the growth with rows are reported. */
const REPORTED_AT = 16;
const CONNECTIONS = [1, REPORTED_AT, 64];
const WARMUP_MS = 2_000;
const DURATION_MS = 6_000;
const ROWS = 50;
/** Demo scale 10: 100,000 customers, 1M transactions. */
const SCALE = 10;

interface Scenario {
  label: string;
  server: ServerKind;
  body: object;
  /** The rows of a reply, to check every server answers the same page before it is timed. */
  rows: (reply: any) => unknown[] | undefined;
  shape: Shape;
  /** Rows of the root list the reply must hold; ROWS when absent. */
  rowCount?: number;
  /** Measured at this connection count only (a cost-growth check, not a throughput target). */
  onlyAt?: number;
}

type Shape = 'clear fields' | 'masked fields' | 'nested accounts' | 'clear fields, 10 rows';

const FLAT: Scenario[] = [
  { label: 'bare pg', server: 'pg', body: { limit: ROWS }, rows: (r) => r.data?.customers, shape: 'clear fields' },
  {
    label: 'PostGraphile 5',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${ROWS}) { nodes { rowId residency segment createdAt } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    shape: 'clear fields',
  },
  {
    label: 'Keyhole',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${ROWS}) { id residency segment created_at } }` },
    rows: (r) => r.data?.customers,
    shape: 'clear fields',
  },
];

/** support-bot's own page: full_name, email, phone, postal_code and city masked by the steward's rules. */
const MASKED: Scenario[] = [
  {
    label: 'PostGraphile 5, the same fields in clear',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${ROWS}) { nodes { rowId fullName email phone postalCode city residency segment createdAt } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    shape: 'masked fields',
  },
  {
    label: 'Keyhole, five fields masked',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${ROWS}) { id full_name email phone postal_code city residency segment created_at } }` },
    rows: (r) => r.data?.customers,
    shape: 'masked fields',
  },
];

/** What a request costs as the page grows: 10 rows here, against 50 (clear fields) and 50 with their accounts (nested). */
const SMALL_ROWS = 10;
const SMALL: Scenario[] = [
  {
    label: 'PostGraphile 5, 10 rows',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${SMALL_ROWS}) { nodes { rowId residency segment createdAt } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    shape: 'clear fields, 10 rows',
    rowCount: SMALL_ROWS,
    onlyAt: REPORTED_AT,
  },
  {
    label: 'Keyhole, 10 rows',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${SMALL_ROWS}) { id residency segment created_at } }` },
    rows: (r) => r.data?.customers,
    shape: 'clear fields, 10 rows',
    rowCount: SMALL_ROWS,
    onlyAt: REPORTED_AT,
  },
];

const NESTED: Scenario[] = [
  {
    label: 'PostGraphile 5, with accounts',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${ROWS}) { nodes { rowId residency segment createdAt accountsByCustomerId { nodes { rowId kind currency } } } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    shape: 'nested accounts',
  },
  {
    label: 'Keyhole, with accounts',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${ROWS}) { id residency segment created_at accounts { id kind currency } } }` },
    rows: (r) => r.data?.customers,
    shape: 'nested accounts',
  },
];

interface Measurement {
  scenario: Scenario;
  connections: number;
  load: LoadResult;
  warmupRequests: number;
  serverCpuMs: number;
  machineCpuMs: number;
  statements: number;
  transactionControl: number;
  shapes: Record<string, number>;
}

class ScenarioCheckError extends Error {
  constructor(label: string, detail: string) {
    super(`${label} did not answer the benchmark query as expected: ${detail}`);
    this.name = 'ScenarioCheckError';
  }
}

const headersFor = (server: RunningServer): Record<string, string> => (server.token ? { authorization: `Bearer ${server.token}` } : {});

async function checkScenario(scenario: Scenario, server: RunningServer): Promise<void> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headersFor(server) },
    body: JSON.stringify(scenario.body),
  });
  const text = await response.text();
  const rows = scenario.rows(JSON.parse(text));
  if (response.status !== 200 || !rows || rows.length !== (scenario.rowCount ?? ROWS))
    throw new ScenarioCheckError(scenario.label, `${response.status} ${text.slice(0, 300)}`);
  if (scenario.shape === 'nested accounts' && !rows.some((row) => JSON.stringify(row).includes('"kind"')))
    throw new ScenarioCheckError(scenario.label, 'no nested accounts');
}

function difference(after: StatementCounts, before: StatementCounts): Record<string, number> {
  const shapes: Record<string, number> = {};
  for (const [shape, count] of Object.entries(after.byShape)) {
    const delta = count - (before.byShape[shape] ?? 0);
    if (delta > 0) shapes[shape] = delta;
  }
  return shapes;
}

async function measure(scenario: Scenario, server: RunningServer, connections: number): Promise<Measurement> {
  const client = createLoadClient({ url: server.url, body: JSON.stringify(scenario.body), headers: headersFor(server) }, connections);
  try {
    const warmup = await client.run(WARMUP_MS);
    const before = await server.stats();
    const machineBefore = machineBusyMs(cpus());
    const load = await client.run(DURATION_MS);
    const machineAfter = machineBusyMs(cpus());
    const after = await server.stats();
    if (load.failures > 0) throw new LoadFailedError(scenario.label, load.failures, load.firstFailure ?? '');
    const perRequest = (value: number) => value / load.requests;
    return {
      scenario,
      connections,
      load,
      warmupRequests: warmup.requests,
      serverCpuMs: perRequest(after.cpuMs - before.cpuMs),
      machineCpuMs: perRequest(machineAfter - machineBefore),
      statements: perRequest(after.statements.total - before.statements.total),
      transactionControl: perRequest(after.statements.transactionControl - before.statements.transactionControl),
      shapes: Object.fromEntries(Object.entries(difference(after.statements, before.statements)).map(([shape, count]) => [shape, perRequest(count)])),
    };
  } finally {
    client.close();
  }
}

function resultRow(m: Measurement): string {
  const control = m.transactionControl > 0 ? ` + ${m.transactionControl.toFixed(1)} BEGIN/COMMIT` : '';
  return `| ${m.scenario.shape} | ${m.scenario.label} | ${m.connections} | ${Math.round(m.load.perSecond).toLocaleString('en-US')} | ${ms(m.load.p50)} | ${ms(m.load.p99)} | ${m.serverCpuMs.toFixed(2)} | ${m.machineCpuMs.toFixed(2)} | ${m.statements.toFixed(2)}${control} |`;
}

/** One server's measurement of one shape at one connection count, if that was measured. */
const measured = (results: readonly Measurement[], kind: ServerKind, shape: Shape, connections: number) =>
  results.find((m) => m.connections === connections && m.scenario.server === kind && m.scenario.shape === shape);

/** Keyhole against PostGraphile for each shape and connection count: the targets, met or not. */
function ratioRows(results: Measurement[]): string[] {
  const rows: string[] = [];
  for (const shape of ['clear fields', 'masked fields', 'nested accounts'] as const) {
    for (const connections of CONNECTIONS) {
      const [pg, pgl, kh] = (['pg', 'postgraphile', 'keyhole'] as const).map((kind) => measured(results, kind, shape, connections));
      if (!pgl || !kh) continue;
      const throughput = kh.load.perSecond / pgl.load.perSecond;
      rows.push(
        `| ${shape} | ${connections} | ${pg ? ratio(kh.load.perSecond, pg.load.perSecond) : '–'} | **${throughput.toFixed(2)}×** | ` +
          `${ratio(kh.load.p99, pgl.load.p99)} | ${ratio(kh.serverCpuMs, pgl.serverCpuMs)} | ${throughput >= 1 && kh.load.p99 <= pgl.load.p99 ? 'met' : 'not met'} |`,
      );
    }
  }
  return rows;
}

function shapeTable(m: Measurement): string[] {
  return [
    `| statement (first 60 characters) | per request |`,
    '|---|---:|',
    ...Object.entries(m.shapes)
      .sort((a, b) => b[1] - a[1])
      .map(([shape, count]) => `| \`${shape.replace(/\|/g, '\\|')}\` | ${count.toFixed(2)} |`),
  ];
}

async function keyholeProfile(dir: string, results: readonly Measurement[]): Promise<string[]> {
  const served = results.filter((m) => m.scenario.server === 'keyhole').reduce((sum, m) => sum + m.warmupRequests + m.load.requests, 0);
  return [
    `### Where Keyhole's CPU went (V8 profile over all its ${served.toLocaleString('en-US')} requests, every shape)`,
    '',
    'Each sample is charged to the innermost frame of a known group, so a syscall or `JSON.stringify` counts for the module that called it.',
    '',
    ...profileTable(await summariseProfileDir(dir), served),
    '',
  ];
}

/**
 * The shipped project, with support-bot's anomalies reported rather than contained: the bench's shapes each read
 * fields the others do not, so once its baseline is learned the first new field would quarantine it and refuse the
 * rest of the run. The baseline evaluator still runs, as it does in production.
 */
const benchProject = () => projectWith({ 'schema/policies.yaml': (text) => text.replace('support: { quarantine: true }', 'support: { quarantine: false }') });

export default async function brokerBench(): Promise<string> {
  const loadBefore = loadavg();
  const profileDir = process.env.BENCH_PROFILE ? await mkdtemp(join(tmpdir(), 'keyhole-profile-')) : undefined;
  const database: BenchDatabase = await createBenchDatabase({ scale: SCALE });
  const root = await benchProject();
  const servers = new Map<ServerKind, RunningServer>();
  const results: Measurement[] = [];
  try {
    const { rows } = await database.db.query<{ server_version: string }>('SHOW server_version');
    for (const kind of ['pg', 'postgraphile', 'keyhole'] as const) {
      servers.set(kind, await startServer(kind, { databaseUrl: database.url, ...(kind === 'keyhole' ? { root, ...(profileDir ? { profileDir } : {}) } : {}) }));
    }
    const scenarios = [...FLAT, ...MASKED, ...NESTED, ...SMALL];
    for (const scenario of scenarios) await checkScenario(scenario, servers.get(scenario.server)!);
    // Every server's code hot before anything is timed: otherwise the first rows (1 connection) pay for V8's compiler.
    for (const scenario of scenarios) {
      const server = servers.get(scenario.server)!;
      const client = createLoadClient({ url: server.url, body: JSON.stringify(scenario.body), headers: headersFor(server) }, CONNECTIONS[1]!);
      await client.run(WARMUP_MS);
      client.close();
    }
    // Interleaved per connection count, so a change in the machine's load hits every server alike.
    for (const connections of CONNECTIONS) {
      for (const scenario of scenarios) {
        if (scenario.onlyAt === undefined || scenario.onlyAt === connections) results.push(await measure(scenario, servers.get(scenario.server)!, connections));
      }
    }
    const loadAfter = loadavg();
    const header = '| shape | server | connections | requests/s | p50 ms | p99 ms | server CPU ms/req | machine CPU ms/req | SQL statements/req |';
    for (const server of servers.values()) await server.stop();
    servers.clear();
    return [
      '## Broker throughput vs bare pg and PostGraphile 5 (50 customer rows over HTTP)',
      '',
      `Demo scale ${SCALE} (${database.seeded.customers.toLocaleString('en-US')} customers) on PostgreSQL ${rows[0]?.server_version}, 127.0.0.1. Each server runs in its own ` +
        `Node ${process.version} process with a pool of 10 connections; the load generator (node:http, keep-alive, closed loop) runs in the bench process. ` +
        `${WARMUP_MS / 1000} s warm-up, then ${DURATION_MS / 1000} s measured per row, servers interleaved per connection count. Server CPU is the server process's own user+system time; machine CPU is ` +
        `all cores (server, PostgreSQL, load generator, and anything else running). Keyhole: support-bot, masking rules, compliance checks and audit on. ` +
        `Load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} after, ${availableParallelism()} cores.`,
      '',
      header,
      '|---|---|---:|---:|---:|---:|---:|---:|---|',
      ...results.map(resultRow),
      '',
      '| shape | connections | Keyhole / pg | Keyhole / PostGraphile throughput | Keyhole / PostGraphile p99 | Keyhole / PostGraphile CPU per request | target (≥ 1.0× and p99 ≤) |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...ratioRows(results),
      '',
      `### Cost per request as the page grows (${REPORTED_AT} connections)`,
      '',
      '| page | Keyhole server CPU ms/req | Keyhole SQL statements/req | PostGraphile server CPU ms/req |',
      '|---|---:|---:|---:|',
      ...(
        [
          ['clear fields, 10 rows', `${SMALL_ROWS} rows`],
          ['clear fields', `${ROWS} rows`],
          ['nested accounts', `${ROWS} customers with their accounts`],
        ] as const
      ).map(([shape, page]) => {
        const [kh, pgl] = [measured(results, 'keyhole', shape, REPORTED_AT)!, measured(results, 'postgraphile', shape, REPORTED_AT)!];
        return `| ${page} | ${kh.serverCpuMs.toFixed(2)} | ${kh.statements.toFixed(2)} | ${pgl.serverCpuMs.toFixed(2)} |`;
      }),
      '',
      `### SQL sent per Keyhole request (${REPORTED_AT} connections)`,
      '',
      ...(['clear fields', 'masked fields', 'nested accounts'] as const).flatMap((shape) => [
        `${shape}:`,
        '',
        ...shapeTable(measured(results, 'keyhole', shape, REPORTED_AT)!),
        '',
      ]),
      ...(profileDir ? await keyholeProfile(profileDir, results) : []),
    ].join('\n');
  } finally {
    for (const server of servers.values()) await server.stop();
    await database.drop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
}
