import type { Command } from 'commander';
import { appendAuditRecord } from '../../audit/index.ts';
import { CliError, withContext } from '../../cli/context.ts';
import { printTable, stdout } from '../../cli/output.ts';
import { type Anomaly, ANOMALY_STATUSES, clearQuarantine, listAnomalies, quarantineClearedRecord } from './anomalies.ts';

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 3 });

function show(anomalies: readonly Anomaly[]): void {
  if (anomalies.length === 0) {
    stdout().write('no anomalies\n');
    return;
  }
  printTable(
    anomalies.map((a) => ({
      id: a.id,
      agent: a.agentId,
      purpose: a.purpose,
      statistic: a.detail ? `${a.statistic} ${a.detail}` : a.statistic,
      value: number.format(a.value),
      threshold: a.threshold === null ? '' : number.format(a.threshold),
      detected: a.detectedAt.toISOString(),
      times: a.occurrences,
      quarantines: a.quarantines ? 'yes' : 'no',
      status: a.status === 'open' ? 'open' : `cleared ${a.clearedAt?.toISOString() ?? ''} by ${a.clearedBy ?? ''}`,
    })),
  );
}

/** `agents anomalies` and `agents clear-quarantine`, under the `agents` command. */
export function registerBaselineCommands(agents: Command): void {
  agents
    .command('anomalies')
    .description("List anomalies in agents' behaviour (behavioural baselines), newest first")
    .option('--status <status>', 'open or cleared')
    .option('--agent <agent>', 'one agent only')
    .action(async (options: { status?: string; agent?: string }) => {
      const status = ANOMALY_STATUSES.find((s) => s === options.status);
      if (options.status && !status) throw new CliError('--status must be open or cleared');
      await withContext('agents anomalies', async ({ db }) => show(await listAnomalies(db, { status, agent: options.agent })));
    });
  agents
    .command('clear-quarantine <agent>')
    .description("Clear an agent's open anomalies, ending its quarantine (approval-required mode) on every broker; audited")
    .requiredOption('--note <text>', 'why the behaviour was acceptable (kept with each anomaly)')
    .option('--by <who>', 'who clears', process.env.USER ?? 'officer')
    .action(async (agent: string, options: { note: string; by: string }) => {
      await withContext('agents clear-quarantine', async ({ config, db, secrets }) => {
        if (!config.registry.agents.has(agent)) throw new CliError(`unknown agent "${agent}"`);
        const cleared = await db.transaction(async (tx) => {
          const anomalies = await clearQuarantine(tx, agent, options.by, options.note);
          if (anomalies.length > 0)
            await appendAuditRecord(tx, secrets.auditKey, quarantineClearedRecord({ kind: 'cli', id: options.by }, agent, options.note, anomalies));
          return anomalies;
        });
        if (cleared.length === 0) stdout().write(`${agent} has no open anomaly: not quarantined\n`);
        else show(cleared);
      });
    });
}
