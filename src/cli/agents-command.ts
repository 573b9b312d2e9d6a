import type { Command } from 'commander';
import { registerBaselineCommands } from '../agent-controls/baselines/command.ts';
import { registerZoneCommands } from '../agent-controls/zones/command.ts';
import { agentZoneReport, listAgentZones } from '../agent-controls/zones/index.ts';
import { agentStatuses, restoreAgent, revokeAgent } from '../identity/index.ts';
import { CliError, withContext } from './context.ts';
import { printTable, stdout } from './output.ts';

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('List, revoke and restore agents (shared by every broker process)');
  agents
    .command('list')
    .description('List registered agents with their role, purposes, location and status')
    .action(async () => {
      await withContext('agents list', async ({ config, db }) => {
        const statuses = await agentStatuses(db);
        const zones = new Map((await listAgentZones(db)).map((zone) => [zone.agentId, agentZoneReport(zone, config.registry)]));
        const rows = [...config.registry.agents.values()].map((agent) => {
          const status = statuses.get(agent.id);
          return {
            agent: agent.id,
            role: agent.role,
            purposes: agent.purposes.join(','),
            location: agent.location,
            zone: zones.get(agent.id)?.servedIn ?? 'not recorded yet',
            status: status?.revokedAt ? `revoked ${status.revokedAt.toISOString()} (${status.reason ?? ''})` : 'active',
          };
        });
        printTable(rows);
      });
    });
  agents
    .command('revoke <agent>')
    .description('Refuse every further request of an agent, on every broker, at once')
    .requiredOption('--reason <text>', 'why (kept in the agent status and shown to officers)')
    .option('--by <who>', 'who revokes', process.env.USER ?? 'cli')
    .action(async (agent: string, options: { reason: string; by: string }) => {
      await withContext('agents revoke', async ({ config, db }) => {
        if (!config.registry.agents.has(agent)) throw new CliError(`unknown agent "${agent}"`);
        await revokeAgent(db, agent, options.by, options.reason);
        stdout().write(`revoked ${agent}\n`);
      });
    });
  agents
    .command('restore <agent>')
    .description('Lift a revocation')
    .action(async (agent: string) => {
      await withContext('agents restore', async ({ config, db }) => {
        if (!config.registry.agents.has(agent)) throw new CliError(`unknown agent "${agent}"`);
        await restoreAgent(db, agent);
        stdout().write(`restored ${agent}\n`);
      });
    });
  registerZoneCommands(agents);
  registerBaselineCommands(agents);
}
