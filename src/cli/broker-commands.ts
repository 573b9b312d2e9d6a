import { Command } from 'commander';
import { registerAgentCommands } from './agents-command.ts';
import { registerApprovalCommands } from './approvals-command.ts';
import { registerAuditCommands } from './audit-command.ts';
import { registerDbCommands } from './db-command.ts';
import { registerIncidentCommands } from './incident-command.ts';
import { registerReportCommand } from './report-command.ts';
import { registerRulesCommands } from './rules-command.ts';

/**
 * The program a broker runs handed-over commands with. It deliberately lacks the key holder's commands
 * (`he keygen`, `he decrypt`): the broker process never loads code that reads a secret key.
 */
export function buildBrokerProgram(): Command {
  const program = new Command('keyhole');
  registerDbCommands(program);
  registerAuditCommands(program);
  registerAgentCommands(program);
  registerApprovalCommands(program);
  registerIncidentCommands(program);
  registerReportCommand(program);
  registerRulesCommands(program);
  return program;
}
