import { htmlPage, markdownPage, type ReportPage } from '../../compliance/report-page.ts';
import type { ReportTable } from '../../compliance/report-tables.ts';
import type { IncidentReport } from './report.ts';

export const INCIDENT_REPORT_FORMATS = ['md', 'json', 'html'] as const;
export type IncidentReportFormat = (typeof INCIDENT_REPORT_FORMATS)[number];

const number = (value: number): string => value.toLocaleString('en');
const budget = (value: number): string => String(Number(value.toPrecision(6)));

export function incidentReportTitle(report: IncidentReport): string {
  return `Incident report — ${report.agent}${report.incident ? ` (incident ${report.incident.id})` : ''}`;
}

/** The lines under the title: the incident, the window, whether the log verifies, and what the duties are worth. */
export function incidentReportPreamble(report: IncidentReport): string[] {
  const { incident, auditChain: chain } = report;
  const opened = incident
    ? `Incident ${incident.id} (${incident.status}), opened ${incident.openedAt.toISOString()} by ${incident.openedBy}: ${incident.reason}. The agent was revoked then.`
    : `No incident is open for ${report.agent}: deadlines are counted from the start of the window.`;
  const verdict = chain.ok
    ? `VERIFIED — ${number(chain.checked)} records, head at ${chain.headSeq}`
    : `BROKEN at record ${chain.firstBad?.seq} (${chain.firstBad?.problem}): ${chain.firstBad?.detail}. Figures below come from a log that does not verify.`;
  return [
    opened,
    `Window: ${report.window.since} to ${report.window.until} (end exclusive), from the agent's audit records. Generated ${report.generatedAt}.`,
    `Audit chain: ${verdict}`,
    'Notification duties are those that may apply under each jurisdiction rule set; whether they do (risk, harm, thresholds) is for counsel. Not legal advice.',
  ];
}

export function incidentReportTables(report: IncidentReport): ReportTable[] {
  const { requests, privacySpend: spend } = report;
  return [
    {
      title: 'Summary',
      columns: ['Requests', 'Allowed', 'Denied', 'Errors', 'Pending approval', 'Rows received', 'Distinct data subjects', 'DP releases', 'ε', 'δ', 'ρ'],
      rows: [
        [
          ...[
            requests.total,
            requests.allowed,
            requests.denied,
            requests.errors,
            requests.pendingApproval,
            report.rows,
            report.subjects.total,
            spend.releases,
          ].map(number),
          ...[spend.epsilon, spend.delta, spend.rho].map(budget),
        ],
      ],
      empty: '',
    },
    {
      title: 'Tables received',
      columns: ['Table', 'Requests', 'Rows in those answers'],
      rows: report.tables.map((t) => [t.table, number(t.requests), number(t.rows)]),
      empty: 'No allowed answer in this window.',
    },
    {
      title: 'Fields received',
      columns: ['Table', 'Field', 'Shown as', 'Masking rule', 'Requests', 'Rows in those answers'],
      rows: report.fields.map((f) => [f.table, f.field, f.mask, f.rule ?? '—', number(f.requests), number(f.rows)]),
      empty: 'No field was returned in this window.',
    },
    {
      title: 'Data subjects by jurisdiction',
      columns: ['Jurisdiction', 'Distinct data subjects'],
      rows: report.subjects.byJurisdiction.map((s) => [s.jurisdiction ?? 'not recorded', number(s.subjects)]),
      empty: "No data subject's data was returned in this window.",
    },
    {
      title: 'Refusals',
      columns: ['Decision', 'Code', 'Reason', 'Count'],
      rows: report.refusals.map((r) => [r.decision, r.code ?? '—', r.reason ?? '—', number(r.count)]),
      empty: 'No request was refused.',
    },
    {
      title: 'Breach-notification duties that may apply',
      columns: ['Jurisdiction', 'Law', 'Subjects', 'To the authority', 'Due', 'Deadline', 'Counted', 'Rule', 'To individuals', 'Rule'],
      rows: [
        ...report.duties.map((d) => [
          d.jurisdiction,
          d.ruleSet.short,
          number(d.subjects),
          d.authority.window,
          d.authority.due,
          d.authority.deadline ?? 'no fixed hours: see the window',
          d.authority.counted ?? '—',
          d.authority.rule,
          d.individuals.window,
          d.individuals.rule,
        ]),
        ...report.ungoverned.map((code) => [
          code,
          'no rule set',
          '',
          'no jurisdiction rule set governs these subjects: assess by hand',
          '',
          '',
          '',
          '',
          '',
          '',
        ]),
      ],
      empty: 'No data subject of any jurisdiction was touched: no notification duty follows from this traffic.',
    },
  ];
}

/** The audit chain's line in the preamble (`incidentReportPreamble`), shown as a warning when the chain does not verify. */
const CHAIN_LINE = 2;

const page = (report: IncidentReport): ReportPage => ({
  title: incidentReportTitle(report),
  preamble: incidentReportPreamble(report),
  tables: incidentReportTables(report),
  brokenLine: report.auditChain.ok ? null : CHAIN_LINE,
});

export function renderIncidentMarkdown(report: IncidentReport): string {
  return markdownPage(page(report));
}

export function renderIncidentHtml(report: IncidentReport): string {
  return htmlPage(page(report));
}

export function renderIncidentReport(report: IncidentReport, format: IncidentReportFormat): string {
  switch (format) {
    case 'md':
      return renderIncidentMarkdown(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'html':
      return renderIncidentHtml(report);
  }
}
