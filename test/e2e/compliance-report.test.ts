import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditDraft, appendAuditRecord } from '../../src/audit/index.ts';
import {
  buildComplianceReport,
  type ComplianceReport,
  type JurisdictionRules,
  loadJurisdictionRules,
  renderCsv,
  renderHtml,
  renderJson,
  renderMarkdown,
} from '../../src/compliance/index.ts';
import { loadProjectConfig, type ProjectConfig } from '../../src/config/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const ROOT = join(import.meta.dirname, '../..');
const PERIOD = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') };
const HOSTILE_REASON = 'GDPR Art. 44: no transfer basis, "SCC" missing <script>alert(1)</script>';

function draft(overrides: Partial<AuditDraft>): AuditDraft {
  return auditDraft({ recordedAt: new Date('2026-03-01T10:00:00Z'), ...overrides });
}

const subjects = (entries: Record<string, string>) => new Map(Object.entries(entries));

/** A small month of traffic: reads by agents in and outside Singapore, aggregates, a denial and an approval wait. */
const RECORDS: AuditDraft[] = [
  draft({
    recordedAt: new Date('2025-06-01T00:00:00Z'),
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    tables: ['customers'],
    fields: [{ table: 'customers', field: 'email', mask: 'email_domain' }],
    rowCount: 1,
    subjects: subjects({ 'customer:old': 'SG' }),
  }),
  draft({
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    tables: ['customers'],
    fields: [
      { table: 'customers', field: 'full_name', mask: 'partial', rule: 'names' },
      { table: 'customers', field: 'email', mask: 'email_domain', rule: 'contact' },
      { table: 'customers', field: 'segment', mask: 'clear' },
    ],
    rowCount: 5,
    subjects: subjects({ 'customer:sg1': 'SG', 'customer:sg2': 'SG', 'customer:sg3': 'SG', 'customer:de1': 'EU-DE', 'customer:de2': 'EU-DE' }),
    findings: [{ check: 'cross_border_transfer', jurisdiction: 'EU-DE', outcome: 'flag', rule: 'GDPR Art. 46(2)(c)', message: 'EU-DE to SG under SCCs' }],
  }),
  draft({
    recordedAt: new Date('2026-03-02T10:00:00Z'),
    actorId: 'fraud-bot',
    purpose: 'fraud_detection',
    actorLocation: 'EU-DE',
    tables: ['health_claims', 'transactions'],
    fields: [
      { table: 'transactions', field: 'amount', mask: 'clear' },
      { table: 'transactions', field: 'note', mask: 'truncate' },
      { table: 'health_claims', field: 'diagnosis_code', mask: 'generalize' },
    ],
    rowCount: 4,
    subjects: subjects({ 'customer:sg1': 'SG', 'customer:sg4': 'SG', 'customer:cn1': 'CN' }),
    findings: [
      { check: 'cross_border_transfer', jurisdiction: 'SG', outcome: 'allow', rule: 'PDPA s.26(1)', message: 'SG to EU-DE under contract' },
      { check: 'special_category', jurisdiction: 'SG', outcome: 'flag', rule: 'PDPA s.24', message: 'health data for fraud_detection' },
    ],
  }),
  draft({
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    decision: 'denied',
    code: 'COMPLIANCE_DENIED',
    reason: HOSTILE_REASON,
    findings: [{ check: 'cross_border_transfer', jurisdiction: 'EU-DE', outcome: 'deny', rule: 'GDPR Art. 44', message: 'no basis' }],
  }),
  draft({ actorId: 'analytics-bot', purpose: 'analytics', actorLocation: 'US-CA', operationKind: 'aggregate', privacyCost: { epsilon: 0.25, delta: 1e-6 } }),
  draft({ actorId: 'analytics-bot', purpose: 'analytics', actorLocation: 'US-CA', operationKind: 'aggregate', privacyCost: { epsilon: 0.5, delta: 0 } }),
  draft({
    actorId: 'kyc-bot',
    purpose: 'kyc_verification',
    actorLocation: 'SG',
    decision: 'pending_approval',
    code: 'APPROVAL_REQUIRED',
    reason: 'customers.national_id needs a human approval',
  }),
];

/** A minimal RFC 4180 reader (CRLF rows, quoted cells with doubled quotes), enough to check the CSV is well-formed. */
function parseCsv(text: string): string[][] {
  const cells = /("(?:[^"]|"")*"|[^",\r\n]*)(,|\r\n)/gy;
  const rows: string[][] = [];
  let row: string[] = [];
  for (let match = cells.exec(text); match; match = cells.exec(text)) {
    const raw = match[1]!;
    row.push(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw);
    if (match[2] === '\r\n') {
      rows.push(row);
      row = [];
    }
    if (cells.lastIndex === text.length) break;
  }
  expect(cells.lastIndex, 'the whole text parses as CSV').toBe(text.length);
  return rows;
}

function csvRecords(text: string): Array<Record<string, string>> {
  const [header = [], ...rows] = parseCsv(text);
  for (const row of rows) expect(row).toHaveLength(header.length);
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ''])));
}

describe.each(ENGINES)('compliance report on $engine', ({ create }) => {
  let t: TestDatabase;
  let config: ProjectConfig;
  let rules: JurisdictionRules;
  const key = randomBytes(32);
  const report = (jurisdiction: string): Promise<ComplianceReport> =>
    buildComplianceReport(
      t.db,
      { jurisdiction, ...PERIOD },
      { catalog: config.catalog, registry: config.registry, rules, auditKey: key, now: new Date('2026-11-15T00:00:00Z') },
    );

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
    [config, rules] = await Promise.all([loadProjectConfig(ROOT), loadJurisdictionRules(join(ROOT, 'schema', 'jurisdictions'))]);
    for (const record of RECORDS) await t.db.transaction((tx) => appendAuditRecord(tx, key, record));
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('builds a record of processing for Singapore subjects from the log', async () => {
    const sg = await report('SG');
    expect(sg.auditChain).toMatchObject({ ok: true, checked: 7 });
    expect(sg.summary).toEqual({ records: 5, allowed: 4, refused: 1, subjects: 4, agents: 4 });
    expect(sg.processing).toEqual([
      {
        agent: 'support-bot',
        location: 'SG',
        purpose: 'customer_service',
        categories: ['pii.email', 'pii.name'],
        tables: ['customers'],
        requests: 1,
        rows: 5,
        subjects: 3,
      },
      {
        agent: 'fraud-bot',
        location: 'EU-DE',
        purpose: 'fraud_detection',
        categories: ['financial', 'special.health', 'untrusted_text'],
        tables: ['health_claims', 'transactions'],
        requests: 1,
        rows: 4,
        subjects: 2,
      },
    ]);
    expect(sg.transfers).toEqual([
      expect.objectContaining({
        agent: 'fraud-bot',
        from: 'SG',
        to: 'EU-DE',
        basesListed: ['contract'],
        status: 'allow',
        basis: 'contract',
        subjects: 2,
        rule: expect.stringContaining('reg 11'),
      }),
    ]);
    expect(sg.specialCategories).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ agent: 'fraud-bot', category: 'health', fields: ['health_claims.diagnosis_code'], status: 'flag', subjects: 2 }),
      ]),
    );
    expect(sg.refusals).toEqual([expect.objectContaining({ agent: 'kyc-bot', decision: 'pending_approval', code: 'APPROVAL_REQUIRED', count: 1 })]);
    expect(sg.privacyBudget).toEqual([{ agent: 'analytics-bot', requests: 2, epsilon: 0.75, delta: 1e-6, rho: 0 }]);
    expect(sg.findings.map((f) => [f.check, f.outcome, f.count])).toEqual([
      ['cross_border_transfer', 'allow', 1],
      ['special_category', 'flag', 1],
    ]);
    expect(sg.retention).toEqual({ accessRecordsDays: 365, basis: 'organisational', rule: 'PDPA s.25', oldestRecordAt: '2025-06-01T00:00:00.000Z' });
  });

  it('shows EU-DE subjects going to Singapore under SCCs and the denial made for them', async () => {
    const de = await report('EU-DE');
    expect(de.transfers).toEqual([
      expect.objectContaining({ agent: 'support-bot', to: 'SG', status: 'flag', basis: 'standard_contractual_clauses', subjects: 2 }),
    ]);
    expect(de.refusals).toEqual([expect.objectContaining({ agent: 'support-bot', decision: 'denied', code: 'COMPLIANCE_DENIED', reason: HOSTILE_REASON })]);
    expect(de.findings.map((f) => `${f.check}:${f.outcome}:${f.rule}`)).toEqual([
      'cross_border_transfer:flag:GDPR Art. 46(2)(c)',
      'cross_border_transfer:deny:GDPR Art. 44',
    ]);
    expect(de.processing.map((p) => p.agent)).toEqual(['support-bot']);
  });

  it('renders the same content as Markdown, JSON, CSV and self-contained HTML', async () => {
    const sg = await report('SG');
    const md = renderMarkdown(sg);
    expect(md).toMatch(/^# Compliance report — SG \(PDPA\)\n/);
    expect(md).toContain('Audit chain: VERIFIED — 7 records');
    expect(md).toMatch(
      /\| fraud-bot \| SG \| EU-DE \| fraud_detection \| contract \| allow \| contract \| PDPA s\.26\(1\); PDP Regulations 2021 reg 11 [^|]*\| 1 \| 2 \|/,
    );
    expect(md).toContain('| analytics-bot | 2 | 0.75 | 0.000001 | 0 |');

    expect(JSON.parse(renderJson(sg))).toEqual(JSON.parse(JSON.stringify(sg)));

    const csv = csvRecords(renderCsv(sg));
    expect(csv.find((row) => row.section === 'transfer')).toMatchObject({
      agent: 'fraud-bot',
      location: 'EU-DE',
      status: 'allow',
      code: 'contract',
      subjects: '2',
    });
    expect(csv.find((row) => row.section === 'dp_budget')?.detail).toContain('epsilon=0.75');
    expect(csv.find((row) => row.section === 'audit_chain')?.status).toBe('verified');

    const html = renderHtml(sg);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td class="outcome flag">flag</td>');
    expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=|url\(|@import/i);
  });

  it('escapes hostile text in every format', async () => {
    const de = await report('EU-DE');
    const html = renderHtml(de);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    expect(csvRecords(renderCsv(de)).find((row) => row.section === 'refusal')?.detail).toBe(HOSTILE_REASON);
    expect(renderMarkdown(de)).toContain(`| ${HOSTILE_REASON} |`);
  });

  it('says so when the audit chain does not verify', async () => {
    await t.db.query("UPDATE audit_log SET reason = 'edited' WHERE seq = 4");
    const sg = await report('SG');
    expect(sg.auditChain).toMatchObject({ ok: false, firstBad: { seq: 4, problem: 'changed' } });
    expect(renderMarkdown(sg)).toContain('Audit chain: BROKEN at record 4 (changed)');
    expect(renderHtml(sg)).toContain('<li class="broken">');
    expect(csvRecords(renderCsv(sg)).find((row) => row.section === 'audit_chain')?.status).toBe('broken');
  });
});
