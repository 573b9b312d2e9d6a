import { csvRecords } from '../csv.ts';
import type { ComplianceReport } from './report.ts';
import { type ReportTable, reportPreamble, reportTables, reportTitle } from './report-tables.ts';

export const REPORT_FORMATS = ['md', 'json', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

function markdownCell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(table: ReportTable): string {
  if (table.rows.length === 0) return `## ${table.title}\n\n${table.empty}\n`;
  const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [`## ${table.title}`, '', line(table.columns), line(table.columns.map(() => '---')), ...table.rows.map(line), ''].join('\n');
}

export function renderMarkdown(report: ComplianceReport): string {
  const preamble = reportPreamble(report).map((text) => `- ${markdownCell(text)}`);
  return [`# ${reportTitle(report)}`, '', ...preamble, '', ...reportTables(report).map(markdownTable)].join('\n');
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function htmlTable(table: ReportTable): string {
  if (table.rows.length === 0) return `<h2>${escapeHtml(table.title)}</h2>\n<p class="empty">${escapeHtml(table.empty)}</p>`;
  const head = table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = table.rows.map((row) => `<tr>${row.map((cell) => `<td class="${outcomeClass(cell)}">${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<h2>${escapeHtml(table.title)}</h2>\n<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function outcomeClass(cell: string): string {
  return ['allow', 'flag', 'deny', 'withhold'].includes(cell) ? `outcome ${cell}` : '';
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2433; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #c9ced8; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f6; } .empty { color: #5a6375; font-style: italic; }
.outcome.allow { color: #1b6e2e; } .outcome.flag { color: #8a5a00; font-weight: 600; } .outcome.deny, .outcome.withhold { color: #a11b1b; font-weight: 600; }
.broken { background: #fde8e8; border: 1px solid #a11b1b; padding: .5rem; }`;

/** A self-contained page: inline style, no script, no external asset, every value escaped. */
export function renderHtml(report: ComplianceReport): string {
  const preamble = reportPreamble(report)
    .map((text, i) => `<li${i === 2 && !report.auditChain.ok ? ' class="broken"' : ''}>${escapeHtml(text)}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(reportTitle(report))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(reportTitle(report))}</h1>
<ul>
${preamble}
</ul>
${reportTables(report).map(htmlTable).join('\n')}
</body>
</html>
`;
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
