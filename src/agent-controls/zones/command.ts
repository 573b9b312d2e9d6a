import type { Command } from 'commander';
import { CliError, type CliContext, withContext } from '../../cli/context.ts';
import { printTable, stdout } from '../../cli/output.ts';
import { type AgentZoneReport, agentZoneReport } from './report.ts';
import { decideZoneChangeAudited, listAgentZones, syncZoneRequests, ZoneChangeNotPendingError } from './store.ts';

const at = (date: Date | null) => date?.toISOString() ?? '';

function show(zones: readonly AgentZoneReport[]): void {
  if (zones.length === 0) {
    stdout().write('no zones recorded\n');
    return;
  }
  printTable(
    zones.map((z) => ({
      agent: z.agentId,
      asked: z.asked ?? '(not in agents.yaml)',
      'in force': z.zone,
      'served in': z.servedIn ?? '',
      approved: z.approvedBy ? `${at(z.approvedAt)} by ${z.approvedBy}` : '',
      request: z.request ? `${z.request.zone} ${z.request.status} since ${at(z.request.at)}` : '',
      decided: z.decidedBy ? `${at(z.decidedAt)} by ${z.decidedBy}` : '',
      reason: z.reason ?? '',
    })),
  );
}

/** Every zone command first reads agents.yaml as a broker start does, so a request the file makes is there to decide. */
async function reconciled({ config, db, secrets }: CliContext): Promise<AgentZoneReport[]> {
  await syncZoneRequests(db, config.registry, secrets.auditKey);
  return (await listAgentZones(db)).map((zone) => agentZoneReport(zone, config.registry));
}

async function decide(agent: string, options: { by: string; reason?: string }, approve: boolean): Promise<void> {
  await withContext(`agents zone ${approve ? 'approve' : 'deny'}`, async (context) => {
    if (!context.config.registry.agents.has(agent)) throw new CliError(`unknown agent "${agent}"`);
    await reconciled(context);
    try {
      const after = await decideZoneChangeAudited(
        context.db,
        context.secrets.auditKey,
        agent,
        { approve, by: options.by, reason: options.reason ?? null },
        { kind: 'cli', id: options.by },
      );
      show([agentZoneReport(after, context.config.registry)]);
    } catch (error) {
      if (error instanceof ZoneChangeNotPendingError) throw new CliError(error.message);
      throw error;
    }
  });
}

/** `keyhole agents zone list|approve|deny`: the security zones in force and the moves agents.yaml asks for. */
export function registerZoneCommands(agents: Command): void {
  const zone = agents.command('zone').description('Security zones: list them, approve or deny a zone change agents.yaml asks for (audited)');
  zone
    .command('list')
    .description('Each agent: the zone agents.yaml asks for, the zone in force, the zone it is served in, and any request')
    .action(async () => {
      await withContext('agents zone list', async (context) => show(await reconciled(context)));
    });
  zone
    .command('approve <agent>')
    .description('Put the zone agents.yaml asks for in force; every broker serves it within about a second')
    .option('--by <who>', 'who approves', process.env.USER ?? 'officer')
    .option('--reason <text>', 'why (kept with the zone and in the audit record)')
    .action((agent: string, options: { by: string; reason?: string }) => decide(agent, options, true));
  zone
    .command('deny <agent>')
    .description('Refuse the zone change: the agent keeps the zone in force, and the request stays denied while agents.yaml asks for it')
    .requiredOption('--reason <text>', 'why (kept with the zone and in the audit record)')
    .option('--by <who>', 'who denies', process.env.USER ?? 'officer')
    .action((agent: string, options: { by: string; reason: string }) => decide(agent, options, false));
}
