import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/index.ts';
import { KeyholeMetrics } from '../../src/ops/metrics.ts';
import { createMetricsServer } from '../../src/ops/metrics-server.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { freePort } from '../support/ports.ts';
import { startBrokerProcess } from '../faults/broker-process.ts';
import { type PrometheusSample, parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

const CUSTOMERS = '{ customers(limit: 20) { id full_name email phone postal_code residency } }';
const DP_COUNT = '{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.5) { groups { count { value } } } }';
/** A token nobody signed, claiming an agent id that must never become a label. */
const CLAIMED_ID = 'stranger-claims-this-id';
const FORGED = [
  { alg: 'EdDSA', typ: 'JWT' },
  { sub: CLAIMED_ID, purpose: 'customer_service' },
]
  .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
  .concat('c2lnbmF0dXJl')
  .join('.');

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('Prometheus metrics on a port of their own', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let metricsServer: Server;
  let agentServer: Server;
  let metricsUrl: string;
  let agentUrl: string;
  let text: string;
  let samples: PrometheusSample[];

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await seedDemo(t.db, { scale: 0.05 });
    const metrics = new KeyholeMetrics();
    kh = await startTestBroker(t.db, { metrics });
    metricsServer = createMetricsServer(metrics);
    agentServer = createServer(kh.broker.listener);
    metricsUrl = await listening(metricsServer);
    agentUrl = await listening(agentServer);
    const support = await kh.token('support-bot');
    const analytics = await kh.token('analytics-bot');
    expect((await kh.graphql(support, CUSTOMERS)).status).toBe(200);
    expect((await kh.graphql(null, CUSTOMERS)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await kh.graphql(FORGED, CUSTOMERS)).body.errors?.[0]?.extensions?.code).toBe('TOKEN_INVALID');
    expect((await kh.graphql(support, '{ customers { no_such_field } }')).body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await kh.graphql(analytics, DP_COUNT)).status).toBe(200);
    const response = await fetch(`${metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await response.text();
    samples = parsePrometheusText(text);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([metricsServer && close(metricsServer), agentServer && close(agentServer)]);
    await kh?.close();
    await t?.drop();
  });

  it('counts a request with its agent, purpose, operation kind and outcome, and times it', () => {
    const labels = { agent: 'support-bot', purpose: 'customer_service', operation: 'query', outcome: 'OK' };
    expect(sampleValue(samples, 'keyhole_requests_total', labels)).toBe(1);
    expect(sampleValue(samples, 'keyhole_request_duration_seconds_count', labels)).toBe(1);
    expect(sampleValue(samples, 'keyhole_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(1);
    expect(sampleValue(samples, 'keyhole_requests_total', { agent: 'analytics-bot', purpose: 'analytics', operation: 'dp_aggregate', outcome: 'OK' })).toBe(1);
  });

  it('counts refusals by code, under agent "unknown" when no token was verified', () => {
    expect(sampleValue(samples, 'keyhole_refusals_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(sampleValue(samples, 'keyhole_refusals_total', { code: 'TOKEN_INVALID' })).toBe(1);
    expect(sampleValue(samples, 'keyhole_refusals_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(sampleValue(samples, 'keyhole_requests_total', { agent: 'unknown', outcome: 'TOKEN_INVALID' })).toBe(1);
    expect(text).not.toContain(CLAIMED_ID);
  });

  it('reports audit group commits, ε spent and remaining, the pool and the event loop', async () => {
    const records = (await t.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log')).rows[0]!.n;
    // The DP request's record commits in its own transaction (with its spend), the other four by group commit.
    expect(sampleValue(samples, 'keyhole_audit_batch_size_sum')).toBe(records - 1);
    expect(sampleValue(samples, 'keyhole_audit_commit_seconds_count', { result: 'committed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'keyhole_dp_epsilon_spent_total', { agent: 'analytics-bot' })).toBe(0.5);
    const budget = (await t.db.query<{ epsilon_limit: number }>("SELECT epsilon_limit FROM dp_budget WHERE scope = 'agent:analytics-bot'")).rows[0]!;
    expect(sampleValue(samples, 'keyhole_dp_epsilon_remaining', { agent: 'analytics-bot' })).toBeCloseTo(Number(budget.epsilon_limit) - 0.5, 9);
    for (const state of ['in_use', 'waiting']) expect(sampleValue(samples, 'keyhole_db_pool_connections', { state })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'keyhole_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('reports open anomalies and quarantines per registered agent, read on scrape', async () => {
    await t.db.query(
      `INSERT INTO agent_anomalies (agent_id, purpose, kind, statistic, detail, value, quarantines)
       VALUES ('fraud-bot', 'fraud_detection', 'request', 'rowsPerRequest', '', 900, true),
              ('fraud-bot', 'fraud_detection', 'new_field', 'newField', 'amount', 1, false),
              ('not-in-the-registry', 'x', 'request', 'rowsPerRequest', '', 1, true)`,
    );
    const scraped = await (await fetch(`${metricsUrl}/metrics`)).text();
    const now = parsePrometheusText(scraped);
    expect(sampleValue(now, 'keyhole_agent_anomalies_open', { agent: 'fraud-bot' })).toBe(2);
    expect(sampleValue(now, 'keyhole_agent_quarantined', { agent: 'fraud-bot' })).toBe(1);
    expect(sampleValue(now, 'keyhole_agent_quarantined', { agent: 'support-bot' })).toBeUndefined();
    expect(scraped).not.toContain('not-in-the-registry');
  });

  it('reports signed audit checkpoints the sink has not taken yet, read on scrape', async () => {
    const scrape = async () => sampleValue(parsePrometheusText(await (await fetch(`${metricsUrl}/metrics`)).text()), 'keyhole_audit_checkpoints_unappended');
    expect(await scrape()).toBe(0);
    // As a broker leaves a checkpoint it signed while its sink was down.
    await t.db.query("INSERT INTO audit_checkpoints_signed (size, root, note, signed_at) VALUES (1000000, decode(repeat('00', 32), 'hex'), 'a note', now())");
    try {
      expect(await scrape()).toBe(1);
    } finally {
      await t.db.query('DELETE FROM audit_checkpoints_signed WHERE size = 1000000');
    }
  });

  it('carries no name, e-mail, phone number or national id of the demo customers', async () => {
    const { rows } = await t.db.query<Record<string, string>>('SELECT full_name, email, phone, national_id FROM customers');
    expect(rows.length).toBeGreaterThan(10);
    const personal = rows.flatMap((row) => Object.values(row));
    expect(personal.filter((value) => text.includes(value))).toEqual([]);
  });

  it("is not served on the agents' port, and nothing else is served on the metrics port", async () => {
    const onAgentPort = await fetch(`${agentUrl}/metrics`);
    expect(onAgentPort.status).toBe(404);
    expect(await onAgentPort.text()).not.toContain('keyhole_requests_total');
    expect((await fetch(`${metricsUrl}/graphql`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('keyhole serve with KEYHOLE_METRICS_PORT', () => {
  it("serves /metrics on that port and counts the process's requests there", async () => {
    const t = await createPostgresTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-metrics-'));
    try {
      await loadWorld(t.db);
      const metricsPort = await freePort();
      const broker = await startBrokerProcess({ DATABASE_URL: t.url, KEYHOLE_METRICS_PORT: String(metricsPort), KEYHOLE_BASELINE_INTERVAL_MS: '0' }, dataDir);
      try {
        const reply = await fetch(`${broker.base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await broker.token('support-bot')}` },
          body: JSON.stringify({ query: '{ customers(limit: 2) { id } }' }),
        });
        expect(reply.status).toBe(200);
        const samples = parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
        expect(sampleValue(samples, 'keyhole_requests_total', { agent: 'support-bot', outcome: 'OK' })).toBe(1);
        expect((await fetch(`${broker.base}/metrics`)).status).toBe(404);
      } finally {
        broker.child.kill('SIGTERM');
        await broker.exited;
      }
    } finally {
      await t.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
