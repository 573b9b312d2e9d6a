import type { ComplianceReport } from './report.ts';

/** One section of a report as a table, so every human-readable format shows the same content. */
export interface ReportTable {
  title: string;
  columns: string[];
  rows: string[][];
  /** Shown when the table has no rows. */
  empty: string;
}

const list = (values: readonly string[]): string => values.join(', ');
const number = (value: number): string => value.toLocaleString('en');
const budget = (value: number): string => String(Number(value.toPrecision(6)));

export function reportTitle(report: ComplianceReport): string {
  return `Compliance report — ${report.jurisdiction} (${report.ruleSet.short})`;
}

/** The lines under the title: the law, the period, and whether the log these figures come from is intact. */
export function reportPreamble(report: ComplianceReport): string[] {
  const chain = report.auditChain;
  const verdict = chain.ok
    ? `VERIFIED — ${number(chain.checked)} records, head at ${chain.headSeq}`
    : `BROKEN at record ${chain.firstBad?.seq} (${chain.firstBad?.problem}): ${chain.firstBad?.detail}. Figures below come from a log that does not verify.`;
  return [
    `Rule set: ${report.ruleSet.law} (${report.ruleSet.id}, last reviewed ${report.ruleSet.reviewed}). Not legal advice.`,
    `Period: ${report.period.from} to ${report.period.to} (end exclusive). Generated ${report.generatedAt}.`,
    `Audit chain: ${verdict}`,
  ];
}

export function reportTables(report: ComplianceReport): ReportTable[] {
  const { summary, retention, breachNotification } = report;
  return [
    {
      title: 'Summary',
      columns: ['Audit records', 'Allowed', 'Refused', 'Distinct data subjects', 'Agents'],
      rows: [[summary.records, summary.allowed, summary.refused, summary.subjects, summary.agents].map(number)],
      empty: '',
    },
    {
      title: 'Processing activities',
      columns: ['Agent', 'Location', 'Purpose', 'Categories of personal data', 'Tables', 'Requests', 'Rows', 'Subjects'],
      rows: report.processing.map((p) => [
        p.agent,
        p.location,
        p.purpose,
        list(p.categories),
        list(p.tables),
        number(p.requests),
        number(p.rows),
        number(p.subjects),
      ]),
      empty: `No agent received data of ${report.jurisdiction} subjects in this period.`,
    },
    {
      title: 'Access on behalf of persons',
      columns: ['Agent', 'Acting for', 'Requests', 'Rows', 'Subjects'],
      rows: report.onBehalfOf.map((d) => [d.agent, d.person, number(d.requests), number(d.rows), number(d.subjects)]),
      empty: `No agent acting for a person (a delegated token) received data of ${report.jurisdiction} subjects in this period.`,
    },
    {
      title: 'Cross-border transfers',
      columns: ['Agent', 'From', 'To', 'Purposes', 'Bases listed', 'Status today', 'Basis relied on', 'Rule', 'Requests', 'Subjects'],
      rows: report.transfers.map((t) => [
        t.agent,
        t.from,
        t.to,
        list(t.purposes),
        list(t.basesListed) || '—',
        t.status,
        t.basis ?? '—',
        t.rule,
        number(t.requests),
        number(t.subjects),
      ]),
      empty: 'No transfers: every agent that received this data is in the same jurisdiction or free-flow area.',
    },
    {
      title: 'Special-category and sensitive data',
      columns: ['Agent', 'Purpose', 'Category', 'Fields', 'Requests', 'Subjects', 'Status today', 'Rule'],
      rows: report.specialCategories.map((s) => [s.agent, s.purpose, s.category, list(s.fields), number(s.requests), number(s.subjects), s.status, s.rule]),
      empty: 'No special-category or sensitive data was returned.',
    },
    {
      title: 'Refusals',
      columns: ['Agent', 'Purpose', 'Decision', 'Code', 'Reason', 'Count'],
      rows: report.refusals.map((r) => [r.agent, r.purpose, r.decision, r.code, r.reason, number(r.count)]),
      empty: 'No request was refused.',
    },
    {
      title: 'Differential-privacy budget used',
      columns: ['Agent', 'Requests', 'ε', 'δ', 'ρ'],
      rows: report.privacyBudget.map((b) => [b.agent, number(b.requests), budget(b.epsilon), budget(b.delta), budget(b.rho)]),
      empty: 'No differentially private answers.',
    },
    {
      title: 'Compliance findings',
      columns: ['Check', 'Outcome', 'Rule', 'Agents', 'Count', 'Example'],
      rows: report.findings.map((f) => [f.check, f.outcome, f.rule, list(f.agents), number(f.count), f.example]),
      empty: `No finding about ${report.jurisdiction} subjects.`,
    },
    {
      title: 'Obligations',
      columns: ['Obligation', 'Requirement', 'Rule'],
      rows: [
        [
          'Retention of access records',
          `${retention.accessRecordsDays} days (${retention.basis === 'law' ? 'required by law' : 'organisational choice'}); oldest record kept: ${retention.oldestRecordAt ?? 'none'}`,
          retention.rule,
        ],
        ['Breach notification to the authority', breachNotification.authority.window, breachNotification.authority.rule],
        ['Breach notification to individuals', breachNotification.individuals.window, breachNotification.individuals.rule],
      ],
      empty: '',
    },
  ];
}
