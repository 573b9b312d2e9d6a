import { csvRecords } from '../csv.ts';
import type { ComplianceReport } from './report.ts';
import { htmlPage, markdownPage, type ReportPage } from './report-page.ts';
import { reportPreamble, reportTables, reportTitle } from './report-tables.ts';

export const REPORT_FORMATS = ['md', 'json', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The audit chain's line in the preamble (`reportPreamble`), shown as a warning when the chain does not verify. */
const CHAIN_LINE = 2;

const page = (report: ComplianceReport): ReportPage => ({
  title: reportTitle(report),
  preamble: reportPreamble(report),
  tables: reportTables(report),
  brokenLine: report.auditChain.ok ? null : CHAIN_LINE,
});

export function renderMarkdown(report: ComplianceReport): string {
  return markdownPage(page(report));
}

export function renderHtml(report: ComplianceReport): string {
  return htmlPage(page(report));
}

const CSV_COLUMNS = ['section', 'agent', 'location', 'purpose', 'category', 'status', 'rule', 'code', 'detail', 'requests', 'subjects'] as const;
type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], string | number>>;

/** One flat table (a `section` column tells the kinds of row apart), ready for a spreadsheet. */
export function renderCsv(report: ComplianceReport): string {
  const chain = report.auditChain;
  const rows: CsvRow[] = [
    {
      section: 'audit_chain',
      status: chain.ok ? 'verified' : 'broken',
      detail: chain.ok
        ? `${chain.checked} records`
        : `${chain.bad.length} faults; first: ${chain.firstBad?.problem} at ${chain.firstBad?.seq}: ${chain.firstBad?.detail}`,
    },
    { section: 'period', detail: `${report.period.from}/${report.period.to}`, rule: report.ruleSet.law },
    ...report.processing.map(
      (p): CsvRow => ({
        section: 'processing',
        agent: p.agent,
        location: p.location,
        purpose: p.purpose,
        category: p.categories.join(' '),
        detail: p.tables.join(' '),
        requests: p.requests,
        subjects: p.subjects,
      }),
    ),
    ...report.transfers.map(
      (t): CsvRow => ({
        section: 'transfer',
        agent: t.agent,
        location: t.to,
        purpose: t.purposes.join(' '),
        status: t.status,
        rule: t.rule,
        code: t.basis ?? '',
        detail: `${t.from}->${t.to}; listed: ${t.basesListed.join(' ')}`,
        requests: t.requests,
        subjects: t.subjects,
      }),
    ),
    ...report.specialCategories.map(
      (s): CsvRow => ({
        section: 'special_category',
        agent: s.agent,
        purpose: s.purpose,
        category: s.category,
        status: s.status,
        rule: s.rule,
        detail: s.fields.join(' '),
        requests: s.requests,
        subjects: s.subjects,
      }),
    ),
    ...report.refusals.map(
      (r): CsvRow => ({ section: 'refusal', agent: r.agent, purpose: r.purpose, status: r.decision, code: r.code, detail: r.reason, requests: r.count }),
    ),
    ...report.privacyBudget.map(
      (b): CsvRow => ({ section: 'dp_budget', agent: b.agent, detail: `epsilon=${b.epsilon}; delta=${b.delta}; rho=${b.rho}`, requests: b.requests }),
    ),
    ...report.findings.map(
      (f): CsvRow => ({
        section: 'finding',
        agent: f.agents.join(' '),
        category: f.check,
        status: f.outcome,
        rule: f.rule,
        detail: f.example,
        requests: f.count,
      }),
    ),
    { section: 'retention', detail: `${report.retention.accessRecordsDays} days (${report.retention.basis})`, rule: report.retention.rule },
    { section: 'breach_authority', detail: report.breachNotification.authority.window, rule: report.breachNotification.authority.rule },
    { section: 'breach_individuals', detail: report.breachNotification.individuals.window, rule: report.breachNotification.individuals.rule },
  ];
  return csvRecords([CSV_COLUMNS, ...rows.map((row) => CSV_COLUMNS.map((column) => row[column]))]);
}

export function renderJson(report: ComplianceReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function renderReport(report: ComplianceReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return renderMarkdown(report);
    case 'json':
      return renderJson(report);
    case 'csv':
      return renderCsv(report);
    case 'html':
      return renderHtml(report);
  }
}
