import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  buildIncidentReport,
  closeIncident,
  type Incident,
  IncidentError,
  type IncidentReportFormat,
  type IncidentStatus,
  INCIDENT_REPORT_FORMATS,
  INCIDENT_STATUSES,
  listIncidents,
  openIncident,
  renderIncidentReport,
} from '../agent-controls/incidents/index.ts';
import { loadJurisdictionRules } from '../compliance/index.ts';
import { durationSeconds } from '../config/index.ts';
import { CliError, type CliContext, withContext } from './context.ts';
import { printTable, stderr, stdout } from './output.ts';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO timestamp, a date (midnight UTC), or a duration back from now such as 72h or 7d. */
function parseInstant(value: string): Date {
  const ago = durationSeconds(value);
  const parsed = ago !== undefined ? new Date(Date.now() - ago * 1000) : new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime()))
    throw new InvalidArgumentError(`expected an ISO timestamp, a date such as 2026-01-31, or a time ago such as 72h, got "${value}"`);
  return parsed;
}

function incidentId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`"${text}" is not an incident id`);
  return id;
}

/** Runs an incident command on the database; what the incident rules refuse is one line and exit 1. */
function withIncidentContext<T>(command: string, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return withContext(command, async (ctx) => {
    try {
      return await fn(ctx);
    } catch (error) {
      if (error instanceof IncidentError) throw new CliError(error.message);
      throw error;
    }
  });
}

function show(incidents: readonly Incident[]): void {
  if (incidents.length === 0) {
    stdout().write('no incidents\n');
    return;
  }
  printTable(
    incidents.map((i) => ({
      id: i.id,
      agent: i.agent,
      status: i.status,
      opened: `${i.openedAt.toISOString()} by ${i.openedBy}`,
      reason: i.reason,
      closed: i.closedAt ? `${i.closedAt.toISOString()} by ${i.closedBy}` : '',
      note: i.note ?? '',
    })),
  );
}

const byOption = () => new Option('--by <who>', 'who acts (kept in the incident and its audit record)').default(process.env.USER ?? 'cli');

interface ReportOptions {
  since: Date;
  until?: Date;
  format: IncidentReportFormat;
  out?: string;
}

export function registerIncidentCommands(program: Command): void {
  const incident = program
    .command('incident')
    .description('Contain an agent (revoke it and open an incident) and report what it received, with the breach-notification duties that may apply');
  incident
    .command('open <agent>')
    .description('Revoke the agent on every broker and open an incident, in one audited transaction')
    .requiredOption('--reason <text>', 'why (kept in the incident, the revocation and the audit record)')
    .addOption(byOption())
    .action(async (agent: string, options: { reason: string; by: string }) => {
      await withIncidentContext('incident open', async ({ config, secrets, db }) => {
        const opened = await openIncident(db, { registry: config.registry, auditKey: secrets.auditKey }, { agent, by: options.by, reason: options.reason });
        stdout().write(
          `incident ${opened.incident.id} opened: ${agent} revoked at ${opened.incident.openedAt.toISOString()} (audit record ${opened.auditSeq})\n`,
        );
      });
    });
  incident
    .command('close <id>')
    .description('Close an open incident, audited; the agent stays revoked until `keyhole agents restore`')
    .option('--note <text>', 'what was found and done')
    .addOption(byOption())
    .action(async (id: string, options: { note?: string; by: string }) => {
      await withIncidentContext('incident close', async ({ secrets, db }) => {
        const closed = await closeIncident(db, secrets.auditKey, { id: incidentId(id), by: options.by, note: options.note ?? null });
        stdout().write(`incident ${closed.id} closed; ${closed.agent} stays revoked (keyhole agents restore ${closed.agent} lifts that)\n`);
      });
    });
  incident
    .command('list')
    .description('List incidents, newest first')
    .option('--agent <agent>', "only this agent's")
    .addOption(new Option('--status <status>', 'only open or only closed ones').choices(INCIDENT_STATUSES))
    .action(async (options: { agent?: string; status?: IncidentStatus }) => {
      await withIncidentContext('incident list', async ({ db }) => show(await listIncidents(db, options)));
    });
  incident
    .command('report <agent>')
    .description(
      "What the agent received in a window (requests, tables, fields and masks, rows, data subjects by jurisdiction, ε) from the audit log, and the notification duties that may apply with deadlines counted from the incident's opening",
    )
    .requiredOption('--since <when>', 'start of the window: an ISO timestamp, a date, or a time ago (72h, 7d)', parseInstant)
    .option('--until <when>', 'end of the window, exclusive (default: now)', parseInstant)
    .addOption(new Option('--format <format>', 'output format').choices(INCIDENT_REPORT_FORMATS).default('md'))
    .option('--out <file>', 'write the report to a file instead of standard output')
    .action(async (agent: string, options: ReportOptions) => {
      const text = await withIncidentContext('incident report', async ({ root, config, secrets, db }) => {
        const rules = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
        const report = await buildIncidentReport(
          db,
          { agent, since: options.since, until: options.until ?? new Date() },
          { registry: config.registry, rules, auditKey: secrets.auditKey },
        );
        return renderIncidentReport(report, options.format);
      });
      if (options.out) {
        await writeFile(options.out, text);
        stderr().write(`report written to ${options.out}\n`);
      } else {
        stdout().write(text);
      }
    });
}
