/**
 * DESIGN.md's performance comparison: the same 50-row customers page served over real HTTP on 127.0.0.1 by
 * (a) a bare `pg` + node:http server, (b) PostGraphile 5 (grafserv on node:http, Amber preset) and
 * (c) Keyhole (support-bot, masking and audit on), one after another against one freshly seeded database,
 * each server in a child process so its CPU time per request is its own. Target: Keyhole above PostGraphile.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { type BenchDatabase, createBenchDatabase } from './support/database.ts';
import { createLoadClient, LoadFailedError, type LoadResult } from './support/load.ts';
import { type RunningServer, type ServerKind, startServer, type StatementCounts } from './support/servers.ts';
import { machineBusyMs, ms, ratio } from './support/stats.ts';

const CONNECTIONS = [8, 32];
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const ROWS = 50;

interface Scenario {
  label: string;
  server: ServerKind;
  body: object;
  /** The rows of a reply, to check every server answers the same page before it is timed. */
  rows: (reply: any) => unknown[] | undefined;
  nested: boolean;
}

const FLAT: Scenario[] = [
  { label: 'bare pg', server: 'pg', body: { limit: ROWS }, rows: (r) => r.data?.customers, nested: false },
  {
    label: 'PostGraphile 5',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${ROWS}) { nodes { rowId residency segment createdAt } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    nested: false,
  },
  {
    label: 'Keyhole',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${ROWS}) { id residency segment created_at } }` },
    rows: (r) => r.data?.customers,
    nested: false,
  },
];

const NESTED: Scenario[] = [
  {
    label: 'PostGraphile 5, with accounts',
    server: 'postgraphile',
    body: { query: `{ allCustomers(first: ${ROWS}) { nodes { rowId residency segment createdAt accountsByCustomerId { nodes { rowId kind currency } } } } }` },
    rows: (r) => r.data?.allCustomers?.nodes,
    nested: true,
  },
  {
    label: 'Keyhole, with accounts',
    server: 'keyhole',
    body: { query: `{ customers(limit: ${ROWS}) { id residency segment created_at accounts { id kind currency } } }` },
    rows: (r) => r.data?.customers,
    nested: true,
  },
];

interface Measurement {
  scenario: Scenario;
  connections: number;
  load: LoadResult;
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
  if (response.status !== 200 || !rows || rows.length !== ROWS) throw new ScenarioCheckError(scenario.label, `${response.status} ${text.slice(0, 300)}`);
  if (scenario.nested && !rows.some((row) => JSON.stringify(row).includes('"kind"'))) throw new ScenarioCheckError(scenario.label, 'no nested accounts');
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
    await client.run(WARMUP_MS);
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
  return `| ${m.scenario.label} | ${m.connections} | ${Math.round(m.load.perSecond).toLocaleString('en-US')} | ${ms(m.load.p50)} | ${ms(m.load.p99)} | ${m.serverCpuMs.toFixed(2)} | ${m.machineCpuMs.toFixed(2)} | ${m.statements.toFixed(2)}${control} |`;
}

function ratioRows(results: Measurement[]): string[] {
  return CONNECTIONS.map((connections) => {
    const of = (kind: ServerKind) => results.find((m) => m.connections === connections && m.scenario.server === kind && !m.scenario.nested)!;
    const [pg, pgl, kh] = [of('pg'), of('postgraphile'), of('keyhole')];
    return (
      `| ${connections} | ${ratio(pgl.load.perSecond, pg.load.perSecond)} | ${ratio(kh.load.perSecond, pg.load.perSecond)} | ` +
      `**${ratio(kh.load.perSecond, pgl.load.perSecond)}** | ${ratio(kh.serverCpuMs, pgl.serverCpuMs)} | ${kh.load.perSecond > pgl.load.perSecond ? 'pass' : 'FAIL'} |`
    );
  });
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

export default async function brokerBench(): Promise<string> {
  const loadBefore = loadavg();
  const database: BenchDatabase = await createBenchDatabase({ scale: 1 });
  const servers = new Map<ServerKind, RunningServer>();
  try {
    const { rows } = await database.db.query<{ server_version: string }>('SHOW server_version');
    for (const kind of ['pg', 'postgraphile', 'keyhole'] as const) servers.set(kind, await startServer(kind, { databaseUrl: database.url }));
    for (const scenario of [...FLAT, ...NESTED]) await checkScenario(scenario, servers.get(scenario.server)!);
    const results: Measurement[] = [];
    // Interleaved per connection count, so a change in the machine's load hits every server alike.
    for (const connections of CONNECTIONS) {
      for (const scenario of FLAT) results.push(await measure(scenario, servers.get(scenario.server)!, connections));
    }
    const nestedConnections = CONNECTIONS[CONNECTIONS.length - 1]!;
    const flatAtNested = results.filter((m) => m.connections === nestedConnections && m.scenario.server !== 'pg');
    const nested: Measurement[] = [];
    for (const scenario of NESTED) nested.push(await measure(scenario, servers.get(scenario.server)!, nestedConnections));
    const keyholeFlat = results.find((m) => m.scenario.server === 'keyhole')!;
    const keyholeNested = nested.find((m) => m.scenario.server === 'keyhole')!;
    const loadAfter = loadavg();
    const header = '| server | connections | requests/s | p50 ms | p99 ms | server CPU ms/req | machine CPU ms/req | SQL statements/req |';
    return [
      '## Broker throughput vs bare pg and PostGraphile 5 (50 customer rows over HTTP)',
      '',
      `Demo scale 1 (${database.seeded.customers.toLocaleString('en-US')} customers) on PostgreSQL ${rows[0]?.server_version}, 127.0.0.1. Each server runs in its own ` +
        `Node ${process.version} process with a pool of 10 connections; the load generator (node:http, keep-alive, closed loop) runs in the bench process. ` +
        `${WARMUP_MS / 1000} s warm-up, then ${DURATION_MS / 1000} s measured per row. Server CPU is the server process's own user+system time; machine CPU is ` +
        `all cores (server, PostgreSQL, load generator, and anything else running). Keyhole: support-bot, masking rules and audit on. ` +
        `Load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} after, ${availableParallelism()} cores.`,
      '',
      header,
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...results.map(resultRow),
      '',
      '| connections | PostGraphile / pg | Keyhole / pg | Keyhole / PostGraphile | Keyhole / PostGraphile CPU per request | Keyhole beats PostGraphile |',
      '|---:|---:|---:|---:|---:|---|',
      ...ratioRows(results),
      '',
      `### With a nested relation (customers → accounts), ${nestedConnections} connections`,
      '',
      header,
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...flatAtNested.map(resultRow),
      ...nested.map(resultRow),
      '',
      `### SQL sent per Keyhole request (${keyholeFlat.connections} connections; flat, then nested)`,
      '',
      ...shapeTable(keyholeFlat),
      '',
      ...shapeTable(keyholeNested),
      '',
    ].join('\n');
  } finally {
    for (const server of servers.values()) await server.stop();
    await database.drop();
  }
}
