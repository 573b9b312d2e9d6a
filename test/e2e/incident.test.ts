import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIncidentReport,
  closeIncident,
  type IncidentReport,
  listIncidents,
  openIncident,
  renderIncidentReport,
} from '../../src/agent-controls/incidents/index.ts';
import { appendAuditRecord, verifyAuditChain } from '../../src/audit/index.ts';
import { type JurisdictionRules, loadJurisdictionRules } from '../../src/compliance/index.ts';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import type { Db } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { type GraphQLReply, PROJECT_ROOT, type TestBroker } from '../support/broker.ts';
import { withCliWorld } from '../support/cli.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';

const HOUR = 3_600_000;
const READ_CUSTOMERS = '{ customers(limit: 10) { id full_name email residency } }';
const HOSTILE_REASON = 'prompt injection | via a note <script>alert(1)</script>';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ok(reply: GraphQLReply): GraphQLReply {
  if (reply.status !== 200 || reply.body.errors) throw new Error(`traffic failed: ${JSON.stringify(reply.body)}`);
  return reply;
}

/** Distinct customers per residency in an answer: what the report must count, since each row is one customer. */
function residencies(reply: GraphQLReply): Array<{ jurisdiction: string; subjects: number }> {
  const counts = new Map<string, number>();
  for (const customer of reply.body.data!.customers as Array<{ residency: string }>) counts.set(customer.residency, (counts.get(customer.residency) ?? 0) + 1);
  return [...counts].map(([jurisdiction, subjects]) => ({ jurisdiction, subjects })).sort((a, b) => a.jurisdiction.localeCompare(b.jurisdiction));
}

/**
 * support-bot's day: a read of accounts before the window, then in the window a customer page (its desk withholds
 * its CN customer) and a page over its limit (refused); fraud-bot reads transactions meanwhile.
 */
async function supportBotTraffic(kh: TestBroker): Promise<{ since: Date; customers: GraphQLReply }> {
  const support = await kh.token('support-bot');
  ok(await kh.graphql(support, '{ accounts(limit: 5) { id kind } }'));
  await pause(5);
  const since = new Date();
  await pause(5);
  const customers = ok(await kh.graphql(support, READ_CUSTOMERS));
  expect((await kh.graphql(support, '{ customers(limit: 100) { id } }')).body.errors![0]!.extensions!.code).toBe('LIMIT_EXCEEDED');
  ok(await kh.graphql(await kh.token('fraud-bot'), '{ transactions(limit: 10) { id amount } }'));
  return { since, customers };
}

/** The report's figures about support-bot's window, whatever engine or caller produced them. */
function expectSupportBotFigures(report: IncidentReport, customers: GraphQLReply, openedAt: Date): void {
  const rows = (customers.body.data!.customers as unknown[]).length;
  expect(report.requests).toEqual({ total: 3, allowed: 1, denied: 2, errors: 0, pendingApproval: 0 });
  expect(report.refusals.map((r) => [r.code, r.count])).toEqual([
    ['AGENT_REVOKED', 1],
    ['LIMIT_EXCEEDED', 1],
  ]);
  expect(report.tables).toEqual([{ table: 'customers', requests: 1, rows }]);
  expect(report.fields.map((f) => [f.table, f.field, f.mask, f.requests, f.rows])).toEqual([
    ['customers', 'email', 'email', 1, rows],
    ['customers', 'full_name', 'clear', 1, rows],
    ['customers', 'id', 'clear', 1, rows],
    ['customers', 'residency', 'clear', 1, rows],
  ]);
  expect(report.rows).toBe(rows);
  expect(report.subjects).toEqual({ total: rows, byJurisdiction: residencies(customers) });
  expect(report.privacySpend).toEqual({ releases: 0, epsilon: 0, delta: 0, rho: 0 });
  const hours72 = new Date(openedAt.getTime() + 72 * HOUR).toISOString();
  expect(report.duties.map((d) => [d.jurisdiction, d.ruleSet.short, d.subjects, d.authority.rule, d.authority.deadline, d.authority.due])).toEqual([
    ['EU-DE', 'GDPR', 1, 'GDPR Art. 33(1)', hours72, 'notification of the authority'],
    ['EU-FR', 'GDPR', 1, 'GDPR Art. 33(1)', hours72, 'notification of the authority'],
    ['IN', 'DPDP', 1, 'DPDP Act s.8(6); DPDP Rules 2025 r.7(2)', hours72, 'detailed report'],
    ['SG', 'PDPA', 1, 'PDPA s.26D(1); s.26C (assessment)', hours72, 'notification of the authority'],
  ]);
  expect(report.duties.find((d) => d.jurisdiction === 'SG')!.authority.counted).toContain('from assessing the breach notifiable');
  expect(report.duties.find((d) => d.jurisdiction === 'EU-DE')!.individuals.rule).toBe('GDPR Art. 34(1)');
  expect(report.ungoverned).toEqual([]);
  expect(report.clock).toEqual({ start: openedAt.toISOString(), from: 'incident' });
  expect(report.auditChain.ok).toBe(true);
}

const REPORT_FIELDS = `
  agent window { since until } incident { id agent status openedAt openedBy reason closedAt closedBy note } clock { start from }
  auditChain { ok } requests { total allowed denied errors pendingApproval } refusals { decision code reason count }
  tables { table requests rows } fields { table field mask rule requests rows } rows
  subjects { total byJurisdiction { jurisdiction subjects } } privacySpend { releases epsilon delta rho }
  duties { jurisdiction subjects ruleSet { id short law } authority { window rule due deadline counted } individuals { window rule } }
  ungoverned`;

describe.each(ENGINES)('incident containment on $engine', ({ create }) => {
  const world = useWorld(create);
  let rules: JurisdictionRules;
  let handle: OfficerRequestHandler;
  let dpo: string;
  let traffic: { since: Date; customers: GraphQLReply };
  const context = () => ({ registry: world.kh.broker.config.registry, auditKey: world.kh.broker.secrets.auditKey });
  const open = (agent: string, db: Db = world.t.db) => openIncident(db, context(), { agent, by: 'dpo', reason: HOSTILE_REASON });
  const report = (agent: string, since: Date, until = new Date()) => buildIncidentReport(world.t.db, { agent, since, until }, { ...context(), rules });
  const agentStatus = async (agent: string) =>
    (
      await world.t.db.query<{ revoked_by: string; reason: string }>(
        'SELECT revoked_by, reason FROM agent_status WHERE agent_id = $1 AND revoked_at IS NOT NULL',
        [agent],
      )
    ).rows[0];

  beforeAll(async () => {
    rules = await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions'));
    handle = officerHandlerOf(world.kh);
    dpo = await world.kh.token('dpo');
    traffic = await supportBotTraffic(world.kh);
  });

  it('opens nothing and revokes nothing when the audit record cannot be written', async () => {
    const db = world.t.db;
    const auditDown: Db = {
      kind: db.kind,
      query: (text, params) => db.query(text, params),
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({ query: (text, params) => (text.includes('audit_head') ? Promise.reject(new Error('audit down')) : tx.query(text, params)) }),
        ),
    };
    await expect(open('support-bot', auditDown)).rejects.toThrow('audit down');
    expect(await listIncidents(db)).toEqual([]);
    expect(await agentStatus('support-bot')).toBeUndefined();
  });

  it('revokes the agent and opens the incident in one audited transaction: its next request is refused', async () => {
    const { incident, auditSeq } = await open('support-bot');
    expect(incident).toMatchObject({ agent: 'support-bot', status: 'open', openedBy: 'dpo', reason: HOSTILE_REASON, closedAt: null });
    expect(await agentStatus('support-bot')).toEqual({ revoked_by: 'dpo', reason: `incident ${incident.id}: ${HOSTILE_REASON}` });
    const record = (await world.t.db.query<Record<string, unknown>>('SELECT * FROM audit_log WHERE seq = $1', [auditSeq])).rows[0]!;
    expect(record).toMatchObject({ actor_kind: 'cli', actor_id: 'dpo', operation_kind: 'incident_open', decision: 'allowed' });
    expect(record.details).toEqual({ incident: incident.id, agent: 'support-bot', reason: HOSTILE_REASON });

    const refused = await world.kh.graphql(await world.kh.token('support-bot'), READ_CUSTOMERS);
    expect(refused.status).toBe(403);
    expect(refused.body.errors![0]!.extensions!.code).toBe('AGENT_REVOKED');
    // Other agents are served meanwhile.
    ok(await world.kh.graphql(await world.kh.token('fraud-bot'), '{ transactions(limit: 1) { id } }'));
    await expect(open('support-bot')).rejects.toThrow(`agent "support-bot" is already under open incident ${incident.id}; close it first`);
    await expect(open('ghost-bot')).rejects.toThrow('unknown agent "ghost-bot"');
    expect((await verifyAuditChain(world.t.db, world.kh.broker.secrets.auditKey)).ok).toBe(true);
  });

  it("lists exactly what the agent received in the window, and the duties with deadlines from the incident's opening", async () => {
    const [incident] = await listIncidents(world.t.db, { agent: 'support-bot' });
    const found = await report('support-bot', traffic.since);
    expect(found.incident).toEqual(incident);
    expectSupportBotFigures(found, traffic.customers, incident!.openedAt);
    // A window that ends before the customer page holds nothing of it.
    const before = await report('support-bot', new Date(traffic.since.getTime() - HOUR), traffic.since);
    expect(before.tables.map((t) => t.table)).toEqual(['accounts']);
    expect(before.fields.map((f) => `${f.table}.${f.field}`)).toEqual(['accounts.id', 'accounts.kind']);
    // An incident still open dates a report whose window starts after it opened.
    expect((await report('support-bot', new Date(incident!.openedAt.getTime() + 1))).incident).toEqual(incident);
  });

  it('counts ε from the records and, without an incident, counts deadlines from the window start', async () => {
    const analytics = await world.kh.token('analytics-bot');
    const since = new Date();
    await pause(5);
    ok(await world.kh.graphql(analytics, '{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.5) { groups { count { value } } } }'));
    ok(await world.kh.graphql(analytics, '{ customers_aggregate(epsilon: 0.25) { groups { count { value } } } }'));
    // A release refused at its record (the agent revoked meanwhile) keeps its cost in the record, but was rolled back.
    const rolledBack = { mechanism: 'mixed', replayed: false, epsilon: 1, delta: 1e-6, rho: 0.5, releases: [] };
    const refused = auditDraft({ actorId: 'analytics-bot', decision: 'denied', code: 'AGENT_REVOKED', privacyCost: rolledBack });
    await world.t.db.transaction((tx) => appendAuditRecord(tx, world.kh.broker.secrets.auditKey, refused));
    const found = await report('analytics-bot', since);
    expect(found.privacySpend).toEqual({ releases: 2, epsilon: 0.75, delta: 0, rho: 0 });
    expect(found.requests).toMatchObject({ allowed: 2, denied: 1 });
    expect(found.tables.map((t) => t.table)).toEqual(['customers', 'transactions']);
    expect(found.subjects).toEqual({ total: 0, byJurisdiction: [] });
    expect(found.duties).toEqual([]);
    expect(found).toMatchObject({ incident: null, clock: { start: since.toISOString(), from: 'window' } });
  });

  it('renders the report as JSON, Markdown and self-contained HTML', async () => {
    const found = await report('support-bot', traffic.since);
    expect(JSON.parse(renderIncidentReport(found, 'json'))).toEqual(JSON.parse(JSON.stringify(found)));
    const markdown = renderIncidentReport(found, 'md');
    expect(markdown).toContain(`# Incident report — support-bot (incident ${found.incident!.id})`);
    expect(markdown).toContain('prompt injection \\| via a note');
    expect(markdown).toContain(
      `| EU-DE | GDPR | 1 | within 72 hours of becoming aware | notification of the authority | ${found.duties[0]!.authority.deadline} |`,
    );
    expect(markdown).toContain('| customers | email | email |');
    const html = renderIncidentReport(found, 'html');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<h2>Breach-notification duties that may apply</h2>');
    // Table cells are escaped too: a refusal's reason is text a request can shape.
    const cell = renderIncidentReport({ ...found, refusals: [{ decision: 'denied', code: 'X', reason: '<img src=x onerror=alert(1)>', count: 1 }] }, 'html');
    expect(cell).not.toContain('<img');
    expect(cell).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
  });

  it('gives officers the same incidents and report, and refuses an unknown agent', async () => {
    const until = new Date();
    const ask = (query: string, variables?: Record<string, unknown>) => officerQuery(handle, dpo, query, variables);
    const listed = await ask('{ incidents(status: open) { id agent status reason } }');
    const [incident] = await listIncidents(world.t.db, { status: 'open' });
    expect(listed.body.data!.incidents).toEqual([{ id: String(incident!.id), agent: 'support-bot', status: 'open', reason: HOSTILE_REASON }]);

    const variables = { agent: 'support-bot', since: traffic.since.toISOString(), until: until.toISOString() };
    const reply = await ask(
      `query($agent: String!, $since: DateTime!, $until: DateTime) { incidentReport(agent: $agent, since: $since, until: $until) { ${REPORT_FIELDS} } }`,
      variables,
    );
    expect(reply.body.errors).toBeUndefined();
    const served = reply.body.data!.incidentReport;
    const { generatedAt, auditChain, incident: built, ...figures } = await report('support-bot', traffic.since, until);
    expect(served).toEqual({
      ...figures,
      auditChain: { ok: auditChain.ok },
      incident: { ...built, id: String(built!.id), openedAt: built!.openedAt.toISOString(), closedAt: null },
    });

    const unknown = await ask('{ incidentReport(agent: "ghost-bot", since: "2026-01-01T00:00:00Z") { agent } }');
    expect(unknown.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(unknown.body.errors![0]!.message).toContain('unknown agent "ghost-bot"');
    const backwards = await ask(`{ incidentReport(agent: "support-bot", since: "${until.toISOString()}", until: "${traffic.since.toISOString()}") { agent } }`);
    expect(backwards.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('closes the incident, audited, leaving the agent revoked', async () => {
    const [incident] = await listIncidents(world.t.db, { status: 'open' });
    const closed = await closeIncident(world.t.db, world.kh.broker.secrets.auditKey, { id: incident!.id, by: 'dpo', note: 'tokens rotated' });
    expect(closed).toMatchObject({ id: incident!.id, status: 'closed', closedBy: 'dpo', note: 'tokens rotated' });
    expect(await agentStatus('support-bot')).toBeDefined();
    const last = (await world.t.db.query<Record<string, unknown>>('SELECT operation_kind, details FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0];
    expect(last).toEqual({ operation_kind: 'incident_close', details: { incident: incident!.id, agent: 'support-bot', note: 'tokens rotated' } });
    await expect(closeIncident(world.t.db, world.kh.broker.secrets.auditKey, { id: incident!.id, by: 'dpo', note: null })).rejects.toThrow(
      `incident ${incident!.id} is already closed`,
    );
    await expect(closeIncident(world.t.db, world.kh.broker.secrets.auditKey, { id: 999, by: 'dpo', note: null })).rejects.toThrow('no incident 999');
    // A closed incident still dates the report of traffic since before it opened, and no later window.
    expect((await report('support-bot', traffic.since)).incident).toEqual(closed);
    expect(await report('support-bot', new Date(closed.openedAt.getTime() + 1))).toMatchObject({ incident: null, clock: { from: 'window' } });
  });
});

describe('keyhole incident (CLI, PostgreSQL)', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'keyhole-incident-'));
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('opens, reports, lists and closes incidents, and refuses an unknown agent with exit 1', () =>
    withCliWorld(async ({ kh, keyhole }) => {
      const { since, customers } = await supportBotTraffic(kh);
      const opened = await keyhole('incident', 'open', 'support-bot', '--reason', 'exfiltration suspected', '--by', 'dpo');
      const match = /^incident 1 opened: support-bot revoked at (\S+) \(audit record \d+\)\n$/.exec(opened.stdout);
      expect(match, opened.stdout).not.toBeNull();
      const openedAt = new Date(match![1]!);
      expect((await kh.graphql(await kh.token('support-bot'), READ_CUSTOMERS)).body.errors![0]!.extensions!.code).toBe('AGENT_REVOKED');

      // Read-only commands, side by side: each is a process of its own.
      const out = join(outDir, 'incident.html');
      const failed = (error: { code: number; stderr: string }) => error;
      const [json, markdown, written, unknownOpen, unknownReport, help] = await Promise.all([
        keyhole('incident', 'report', 'support-bot', '--since', since.toISOString(), '--format', 'json'),
        keyhole('incident', 'report', 'support-bot', '--since', since.toISOString()),
        keyhole('incident', 'report', 'support-bot', '--since', '1d', '--format', 'html', '--out', out),
        keyhole('incident', 'open', 'ghost-bot', '--reason', 'x').catch(failed),
        keyhole('incident', 'report', 'ghost-bot', '--since', '1d').catch(failed),
        keyhole('incident', '--help'),
      ]);
      const report = JSON.parse(json.stdout);
      expect(report.incident).toMatchObject({ id: 1, reason: 'exfiltration suspected', openedBy: 'dpo' });
      expectSupportBotFigures({ ...report, incident: { ...report.incident, openedAt } }, customers, openedAt);
      expect(markdown.stdout).toContain('# Incident report — support-bot (incident 1)');
      expect(written.stderr).toContain(`report written to ${out}`);
      expect(await readFile(out, 'utf8')).toContain('<h2>Fields received</h2>');
      for (const refused of [unknownOpen, unknownReport]) {
        expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown agent "ghost-bot"') });
      }
      for (const command of ['open [options] <agent>', 'close [options] <id>', 'list [options]', 'report [options] <agent>']) {
        expect(help.stdout).toMatch(new RegExp(`^  ${command.replace(/[[\]]/g, '\\$&')} +[A-Z]`, 'm'));
      }

      expect((await keyhole('incident', 'list', '--status', 'open')).stdout).toMatch(/support-bot.*open.*exfiltration suspected/);
      expect((await keyhole('incident', 'close', '1', '--note', 'contained')).stdout).toBe(
        'incident 1 closed; support-bot stays revoked (keyhole agents restore support-bot lifts that)\n',
      );
      expect((await keyhole('incident', 'list', '--status', 'open')).stdout).toBe('no incidents\n');
    }));
});
