/**
 * What operations visibility costs (issue 19): Keyhole's support-bot page over HTTP with metrics off, with metrics on
 * (and scraped every second, 15× Prometheus's default rate), and with OpenTelemetry tracing at 10% sampling exported
 * over OTLP/HTTP to a local sink. The three brokers run side by side in child processes on one database; their rows
 * are interleaved in rounds so a change in the machine's load hits all three alike. Targets: metrics ≤ 3%, tracing
 * at 10% ≤ 10% throughput.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { rm } from 'node:fs/promises';
import { projectWith } from '../test/support/project.ts';
import { freePort } from '../test/support/ports.ts';
import { type BenchDatabase, createBenchDatabase } from './support/database.ts';
import { createLoadClient, LoadFailedError } from './support/load.ts';
import { type RunningServer, startServer } from './support/servers.ts';
import { ms } from './support/stats.ts';

const SCALE = 1;
const CONNECTIONS = 16;
const ROUNDS = 4;
const WARMUP_MS = 2_000;
const ROUND_MS = 5_000;
const QUERY = { query: '{ customers(limit: 50) { id full_name email phone postal_code city residency segment created_at } }' };

type Variant = 'metrics off' | 'metrics on, scraped every 1 s' | 'tracing, 10% sampled';

interface Tally {
  requests: number;
  seconds: number;
  p50: number[];
  p99: number[];
  cpuMs: number;
}

/** An OTLP/HTTP receiver that accepts and drops every export, counting the bytes sent to it. */
async function otlpSink(): Promise<{ url: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export default async function opsOverheadBench(): Promise<string> {
  const loadBefore = loadavg();
  const database: BenchDatabase = await createBenchDatabase({ scale: SCALE });
  const root = await projectWith({ 'schema/policies.yaml': (text) => text.replace('support: { quarantine: true }', 'support: { quarantine: false }') });
  const sink = await otlpSink();
  const metricsPort = await freePort();
  const servers = new Map<Variant, RunningServer>();
  const scraper = setInterval(
    () =>
      void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
        (r) => r.text(),
        () => '',
      ),
    1000,
  );
  try {
    const env: Record<Variant, NodeJS.ProcessEnv> = {
      'metrics off': {},
      'metrics on, scraped every 1 s': { BENCH_METRICS_PORT: String(metricsPort) },
      'tracing, 10% sampled': {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
    };
    for (const [variant, extra] of Object.entries(env) as Array<[Variant, NodeJS.ProcessEnv]>) {
      servers.set(variant, await startServer('keyhole', { databaseUrl: database.url, root, env: extra }));
    }
    const tallies = new Map<Variant, Tally>([...servers.keys()].map((variant) => [variant, { requests: 0, seconds: 0, p50: [], p99: [], cpuMs: 0 }]));
    const clientFor = (server: RunningServer) =>
      createLoadClient({ url: server.url, body: JSON.stringify(QUERY), headers: { authorization: `Bearer ${server.token}` } }, CONNECTIONS);
    for (const server of servers.values()) {
      const client = clientFor(server);
      await client.run(WARMUP_MS);
      client.close();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [variant, server] of servers) {
        const client = clientFor(server);
        try {
          const before = await server.stats();
          const load = await client.run(ROUND_MS);
          const after = await server.stats();
          if (load.failures > 0) throw new LoadFailedError(variant, load.failures, load.firstFailure ?? '');
          const tally = tallies.get(variant)!;
          tally.requests += load.requests;
          tally.seconds += load.requests / load.perSecond;
          tally.p50.push(load.p50);
          tally.p99.push(load.p99);
          tally.cpuMs += after.cpuMs - before.cpuMs;
        } finally {
          client.close();
        }
      }
    }
    const loadAfter = loadavg();
    const baseline = tallies.get('metrics off')!;
    const rate = (tally: Tally) => tally.requests / tally.seconds;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rows = [...tallies].map(([variant, tally]) => {
      const change = variant === 'metrics off' ? '–' : `${(((rate(tally) - rate(baseline)) / rate(baseline)) * 100).toFixed(1)}%`;
      return `| ${variant} | ${Math.round(rate(tally)).toLocaleString('en-US')} | ${change} | ${ms(median(tally.p50))} | ${ms(median(tally.p99))} | ${(tally.cpuMs / tally.requests).toFixed(2)} |`;
    });
    return [
      '## Operations overhead: metrics and tracing on and off',
      '',
      `Demo scale ${SCALE} (${database.seeded.customers.toLocaleString('en-US')} customers) on PostgreSQL, 127.0.0.1; support-bot's masked 50-row page over HTTP, ` +
        `${CONNECTIONS} connections, three broker processes (pool of 10 each) measured in ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s after a ` +
        `${WARMUP_MS / 1000} s warm-up each. Tracing exports over OTLP/HTTP to a local sink (${Math.round(sink.bytes() / 1024).toLocaleString('en-US')} KiB received). ` +
        `Load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} after, ${availableParallelism()} cores.`,
      '',
      '| broker | requests/s | vs metrics off | p50 ms (median of rounds) | p99 ms (median of rounds) | server CPU ms/req |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  } finally {
    clearInterval(scraper);
    for (const server of servers.values()) await server.stop();
    await sink.close();
    await database.drop();
    await rm(root, { recursive: true, force: true });
  }
}
