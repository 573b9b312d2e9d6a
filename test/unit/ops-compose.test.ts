import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KeyholeMetrics } from '../../src/ops/metrics.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition: string }>;
}

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
// `merge`: the brokers share one definition through a YAML anchor (`<<: *broker`), as docker compose reads it.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const BROKERS = ['broker-1', 'broker-2'];
/** What every broker must hold alike: one database, and the keys that make one audit chain and one set of pseudonyms. */
const SHARED = [
  'DATABASE_URL',
  'KEYHOLE_AUDIT_KEY',
  'KEYHOLE_MASKING_KEY',
  'KEYHOLE_MASKING_KEY_ID',
  'KEYHOLE_SUBJECT_KEY',
  'KEYHOLE_TOKEN_PUBLIC_KEY',
  'KEYHOLE_CHECKPOINT_PRIVATE_KEY',
];

describe('docker-compose.yml: two brokers behind a load balancer, with Prometheus and Grafana', () => {
  it('runs PostgreSQL, two brokers of one image, a stock load balancer, Prometheus and Grafana, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['broker-1', 'broker-2', 'grafana', 'lb', 'postgres', 'prometheus']);
    for (const [name, service] of Object.entries(services)) expect(service.healthcheck?.test, name).toBeDefined();
    for (const broker of BROKERS) expect(services[broker]).toMatchObject({ build: '.', image: 'keyhole-broker' });
    expect(services.lb!.image).toMatch(/^(nginx|haproxy):/);
  });

  it('starts each service once what it needs is healthy, and the second broker after the first (one migration at a time)', () => {
    const needs = (name: string) => services[name]!.depends_on ?? {};
    for (const [name, service] of Object.entries(services)) {
      for (const [needed, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[needed], `${name} depends on ${needed}`).toBeDefined();
        expect(condition, `${name} on ${needed}`).toBe('service_healthy');
      }
    }
    for (const broker of BROKERS) expect(Object.keys(needs(broker))).toContain('postgres');
    expect(Object.keys(needs('broker-2'))).toContain('broker-1');
    for (const front of ['lb', 'prometheus']) expect(Object.keys(needs(front)).sort()).toEqual(expect.arrayContaining(BROKERS));
    expect(Object.keys(needs('grafana'))).toContain('prometheus');
  });

  it('gives both brokers one DATABASE_URL and the same keys, and a metrics port that is published nowhere', () => {
    const [first, second] = BROKERS.map((name) => services[name]!.environment!);
    for (const variable of SHARED) {
      expect(first![variable], variable).toBeTruthy();
      expect(second![variable], variable).toBe(first![variable]);
    }
    expect(first!.DATABASE_URL).toMatch(/@postgres:5432\//);
    for (const broker of BROKERS) {
      expect(services[broker]!.environment!.KEYHOLE_METRICS_PORT).toBe('9464');
      expect(services[broker]!.ports).toBeUndefined();
    }
    expect(services.lb!.ports).toEqual(['4000:4000']);
  });

  it("appends both brokers' audit checkpoints to one directory, so that it holds every one whichever broker signed it", () => {
    const dirs = BROKERS.map((name) => services[name]!.environment!.KEYHOLE_CHECKPOINT_DIR);
    expect(new Set(dirs).size).toBe(1);
    for (const broker of BROKERS) expect(services[broker]!.volumes).toContain(`checkpoints:${dirs[0]}`);
  });

  it('mounts only files that exist in the repository', () => {
    const mounted = Object.values(services).flatMap((service) => (service.volumes ?? []).filter((volume) => volume.startsWith('./')));
    expect(mounted.length).toBeGreaterThanOrEqual(5);
    for (const volume of mounted) expect(existsSync(join(PROJECT_ROOT, volume.split(':')[0]!)), volume).toBe(true);
  });

  it('balances over both brokers, and Prometheus scrapes both metrics ports', () => {
    const nginx = read('deploy/nginx.conf');
    for (const broker of BROKERS) expect(nginx).toMatch(new RegExp(`server ${broker}:4000\\b`));
    // An MCP session lives in the broker that opened it: /mcp goes to an upstream that keeps a client on one broker.
    const mcpUpstream = /location = \/mcp \{[^}]*proxy_pass http:\/\/([\w-]+);/.exec(nginx)?.[1];
    expect(mcpUpstream).toBeDefined();
    expect(nginx).toMatch(new RegExp(`upstream ${mcpUpstream} \\{\\s*(#[^\\n]*\\n\\s*)*ip_hash;`));
    const prometheus = parse(read('deploy/prometheus.yml')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((config) => config.targets));
    expect(targets.sort()).toEqual(BROKERS.map((broker) => `${broker}:9464`));
  });

  it('provisions a Grafana datasource and a dashboard whose queries name only metrics the broker exports', async () => {
    const datasource = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; url: string }> };
    expect(datasource.datasources[0]).toMatchObject({ uid: 'keyhole-prometheus', url: 'http://prometheus:9090' });
    const dashboard = JSON.parse(read('docs/grafana/keyhole.json')) as {
      panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }>;
    };
    const exported = new Set<string>();
    for (const metric of await new KeyholeMetrics().registry.getMetricsAsJSON()) {
      exported.add(metric.name);
      if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
    }
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const needed of ['Traffic per agent', 'Latency per agent (p50, p95, p99)', 'Refusals by code', 'ε burn per agent', 'Audit lag'])
      expect(titles).toContain(needed);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe('keyhole-prometheus');
      for (const { expr } of panel.targets) {
        const named = expr.match(/\bkeyhole_[a-z0-9_]+/g) ?? [];
        expect(named.length, expr).toBeGreaterThan(0);
        for (const name of named) expect(exported.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });
});
