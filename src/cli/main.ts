import { Command } from 'commander';
import { registerAgentCommands } from './agents-command.ts';
import { registerApprovalCommands } from './approvals-command.ts';
import { registerAuditCommands } from './audit-command.ts';
import { registerDbCommands } from './db-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerRulesCommands } from './rules-command.ts';
import { registerHeCommands } from './he-command.ts';
import { registerMcpCommand } from './mcp-command.ts';
import { registerReportCommand } from './report-command.ts';
import { registerTokenCommand } from './token-command.ts';
import { runProgram } from './run.ts';

export function buildProgram(): Command {
  const program = new Command('keyhole')
    .description('Keyhole: the privacy-preserving data access broker for AI agents')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nEnvironment:\n  DATABASE_URL        PostgreSQL to use (default: embedded PGlite under KEYHOLE_DATA_DIR)\n  KEYHOLE_DATA_DIR    embedded database, dev keys and secrets (default ./.keyhole)\n  KEYHOLE_ROOT        project directory with schema/ and masking-rules/ (default: this package)',
    );
  registerTokenCommand(program);
  registerDbCommands(program);
  registerDemoCommand(program);
  registerAuditCommands(program);
  registerAgentCommands(program);
  registerApprovalCommands(program);
  registerRulesCommands(program);
  registerHeCommands(program);
  registerReportCommand(program);
  registerMcpCommand(program);
  return program;
}

/** Runs the CLI and returns its exit code. */
export function runCli(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
