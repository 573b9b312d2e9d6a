import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { zoneBudget, zonedPrivacy } from '../../src/agent-controls/zones/index.ts';
import { ConfigError, loadProjectConfig, type ProjectConfig, stricterZone, type ZoneRules } from '../../src/config/index.ts';
import { createMaskingKeys, loadMaskingRules, createExposureDecider } from '../../src/masking/index.ts';
import { buildView, type ExposureDecider, type MaskVariant, type View } from '../../src/policy/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { projectWith } from '../support/project.ts';

const keys = createMaskingKeys(new Uint8Array(32).fill(7), 'mk-zones');
let config: ProjectConfig;
let decide: ExposureDecider;
beforeAll(async () => {
  config = await loadProjectConfig(PROJECT_ROOT);
  decide = createExposureDecider(await loadMaskingRules(PROJECT_ROOT, config, keys), keys);
});

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** The issues of loading the shipped project with agents.yaml edited, each with the text of the line it names. */
async function issuesFor(edit: (text: string) => string) {
  const root = await projectWith({ 'schema/agents.yaml': edit });
  roots.push(root);
  const error = await loadProjectConfig(root).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  const lines = (await readFile(join(root, 'schema', 'agents.yaml'), 'utf8')).split('\n');
  return (error as ConfigError).issues.map((issue) => ({ field: issue.field, message: issue.message, text: lines[issue.line - 1]!.trim() }));
}

function viewIn(agentId: string, purpose: string, zone: ZoneRules, decider: ExposureDecider = decide): View {
  return buildView(config, config.registry.agents.get(agentId)!, purpose, decider, 'test', () => [], zone);
}

const fieldsOf = (view: View, table: string) => [...(view.tables.get(table)?.fields.keys() ?? [])];

describe('zones in agents.yaml', () => {
  it('loads the shipped zones, with the demo agents in production', () => {
    expect(config.registry.zones).toEqual({
      sandbox: {
        name: 'sandbox',
        clearPersonalFields: false,
        encryptedAggregates: false,
        maxLimit: 10,
        maxEpsilonPerQuery: 0.1,
        maxEpsilonPerPeriod: 1,
        requireDpop: false,
      },
      production: { name: 'production', clearPersonalFields: true, encryptedAggregates: true, requireDpop: false },
    });
    expect([...config.registry.agents.values()].map((agent) => agent.zone)).toEqual(['production', 'production', 'production', 'production']);
  });

  it('puts an agent that names no zone in the sandbox, and a file without zones gets a strict sandbox', async () => {
    const root = await projectWith({
      'schema/agents.yaml': (text) => text.replace('    location: US-CA\n    zone: production\n', '    location: US-CA\n').replace(/^zones:\n(?: .*\n)*/m, ''),
    });
    roots.push(root);
    expect(await readFile(join(root, 'schema', 'agents.yaml'), 'utf8')).not.toMatch(/^zones:/m);
    const { registry } = await loadProjectConfig(root);
    expect(registry.agents.get('analytics-bot')!.zone).toBe('sandbox');
    expect(registry.zones.sandbox).toEqual({
      name: 'sandbox',
      clearPersonalFields: false,
      encryptedAggregates: false,
      maxLimit: 10,
      maxEpsilonPerQuery: 0.1,
      maxEpsilonPerPeriod: 1,
      requireDpop: false,
    });
    expect(registry.zones.production).toMatchObject({ clearPersonalFields: true, encryptedAggregates: true, maxLimit: undefined });
  });

  it('names file, line and field of an unknown zone and of a sandbox that would allow more than production', async () => {
    const [unknown] = await issuesFor((text) => text.replace('    location: EU-DE\n    zone: production\n', '    location: EU-DE\n    zone: staging\n'));
    expect(unknown).toMatchObject({ field: 'agents.fraud-bot.zone', text: 'zone: staging' });
    expect(unknown!.message).toMatch(/sandbox.*production/);
    const wider = await issuesFor((text) =>
      text
        .replace('    maxLimit: 10\n', '    maxLimit: 100\n')
        .replace('  production: {}', '  production: { maxLimit: 50, encryptedAggregates: false }')
        .replace('    encryptedAggregates: false\n    maxLimit', '    encryptedAggregates: true\n    maxLimit'),
    );
    expect(wider).toEqual([
      {
        field: 'zones.sandbox.encryptedAggregates',
        message: 'sandbox may not allow more than production (encryptedAggregates: false there)',
        text: 'encryptedAggregates: true',
      },
      { field: 'zones.sandbox.maxLimit', message: 'sandbox may not allow more than production (maxLimit: 50 there)', text: 'maxLimit: 100' },
    ]);
  });

  it('orders zones strictest first', () => {
    expect(stricterZone('production', 'sandbox')).toBe('sandbox');
    expect(stricterZone('sandbox', 'production')).toBe('sandbox');
    expect(stricterZone('production', 'production')).toBe('production');
  });
});

describe('a view built in a zone', () => {
  const sandbox = () => config.registry.zones.sandbox;
  const production = () => config.registry.zones.production;

  it('is the policy’s own view in production', () => {
    const view = viewIn('support-bot', 'customer_service', production());
    expect(fieldsOf(view, 'customers')).toEqual(['id', 'full_name', 'email', 'phone', 'postal_code', 'city', 'residency', 'segment', 'created_at']);
    expect(view.tables.get('customers')!.policy.maxLimit).toBe(50);
    expect(view.caps).toEqual({ rows: 200, subjects: 50 });
    expect(view.key).toBe('support-bot/customer_service:production@test');
  });

  it('hides what a masking rule shows clear of personal, special and identifier fields in the sandbox, keeps the masked ones, and caps pages and requests', () => {
    const view = viewIn('support-bot', 'customer_service', sandbox());
    expect(fieldsOf(view, 'customers')).toEqual(['email', 'phone', 'postal_code', 'residency', 'segment', 'created_at']);
    expect(fieldsOf(view, 'accounts')).toEqual(['id', 'kind', 'currency', 'opened_on']);
    expect(view.tables.get('customers')!.hidden.get('full_name')).toBe('the sandbox zone never shows pii.name clear');
    expect(view.tables.get('customers')!.policy.maxLimit).toBe(10);
    expect(view.caps).toEqual({ rows: 10, subjects: 10 });
    expect(view.zone.name).toBe('sandbox');
  });

  it('hides a personal field that any jurisdiction would see clear, however the others are masked', () => {
    const clearFor: MaskVariant = { mask: 'clear', rule: 'r:1', apply: (value) => value, filterableByEquality: true };
    const masked: MaskVariant = { mask: 'partial', rule: 'r:2', apply: () => '***', filterableByEquality: false };
    const mixed: ExposureDecider = (table, column, scope) =>
      column.name === 'email' ? { kind: 'masked', byJurisdiction: new Map([['SG', clearFor]]), otherwise: masked } : decide(table, column, scope);
    expect(fieldsOf(viewIn('support-bot', 'customer_service', sandbox(), mixed), 'customers')).not.toContain('email');
    expect(fieldsOf(viewIn('support-bot', 'customer_service', production(), mixed), 'customers')).toContain('email');
  });

  it('drops encrypted tables in the sandbox but keeps DP aggregate tables, which no row leaves', () => {
    expect([...viewIn('fraud-bot', 'payroll_analytics', production()).tables.keys()]).toEqual(['employees']);
    expect([...viewIn('fraud-bot', 'payroll_analytics', sandbox()).tables.keys()]).toEqual([]);
    expect(fieldsOf(viewIn('analytics-bot', 'analytics', sandbox()), 'customers')).toEqual(['gender', 'city', 'residency', 'segment']);
  });
});

describe("a zone's DP caps", () => {
  const declared = { epsilon: 20, delta: 1e-6, maxEpsilonPerQuery: 2, maxDeltaPerQuery: 1e-7, minEpsilonPerQuery: 0.001, minDeltaPerQuery: 1e-12 };

  it('lower an agent’s budget per period and per query, never raise it', () => {
    const sandbox = config.registry.zones.sandbox;
    expect(zoneBudget(declared, sandbox)).toEqual({ ...declared, epsilon: 1, maxEpsilonPerQuery: 0.1 });
    expect(zoneBudget(declared, config.registry.zones.production)).toEqual(declared);
    expect(zoneBudget({ ...declared, epsilon: 0.5, maxEpsilonPerQuery: 0.05 }, sandbox)).toMatchObject({ epsilon: 0.5, maxEpsilonPerQuery: 0.05 });
  });

  it('follow the zone an agent is served in when the ledger reads its budget, and give none to an agent that declared none', () => {
    let zone = config.registry.zones.sandbox;
    const privacy = zonedPrivacy({ period: 'month', dataset: { epsilon: 50, delta: 1e-5 }, agents: { 'analytics-bot': declared } }, () => zone);
    expect(privacy.agents['analytics-bot']!.maxEpsilonPerQuery).toBe(0.1);
    zone = config.registry.zones.production;
    expect(privacy.agents['analytics-bot']!.maxEpsilonPerQuery).toBe(2);
    expect(privacy.agents['support-bot']).toBeUndefined();
    expect(Object.keys(privacy.agents)).toEqual(['analytics-bot']);
  });
});
