import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { buildComplianceReport, loadJurisdictionRules, REPORT_FORMATS, type ReportFormat, renderReport } from '../compliance/index.ts';
import { CliError, withContext } from './context.ts';
import { stderr, stdout } from './output.ts';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A date or an ISO timestamp; a bare date as `--to` means the whole of that day. */
function parseInstant(edge: 'from' | 'to') {
  return (value: string): Date => {
    const parsed = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
    if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError(`expected a date such as 2026-01-31 or an ISO timestamp, got "${value}"`);
    return edge === 'to' && DATE_ONLY.test(value) ? new Date(parsed.getTime() + DAY_MS) : parsed;
  };
}

interface ReportOptions {
  jurisdiction: string;
  from?: Date;
  to?: Date;
  format: ReportFormat;
  out?: string;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description("A privacy officer's record of processing for one jurisdiction's data subjects, from the audit log")
    .requiredOption('--jurisdiction <code>', 'jurisdiction of the data subjects, e.g. SG or EU-DE')
    .option('--from <date>', 'start of the period (default: 30 days before --to)', parseInstant('from'))
    .option('--to <date>', 'end of the period, a date counting in full (default: now)', parseInstant('to'))
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('md'))
    .option('--out <file>', 'write the report to a file instead of standard output')
    .action(async (options: ReportOptions) => {
      const to = options.to ?? new Date();
      const from = options.from ?? new Date(to.getTime() - 30 * DAY_MS);
      if (from >= to) throw new CliError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
      const text = await withContext('report', async ({ root, config, secrets, db }) => {
        const rules = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
        if (!rules.byJurisdiction.has(options.jurisdiction)) {
          throw new CliError(`no jurisdiction rule set governs "${options.jurisdiction}"; known: ${[...rules.byJurisdiction.keys()].sort().join(', ')}`);
        }
        const report = await buildComplianceReport(
          db,
          { jurisdiction: options.jurisdiction, from, to },
          { catalog: config.catalog, registry: config.registry, rules, auditKey: secrets.auditKey },
        );
        return renderReport(report, options.format);
      });
      if (options.out) {
        await writeFile(options.out, text);
        stderr().write(`report written to ${options.out}\n`);
      } else {
        stdout().write(text);
      }
    });
}
