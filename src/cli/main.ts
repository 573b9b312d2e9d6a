import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { DataDirLockedError } from '../sql/embedded.ts';
import { registerAgentCommands } from './agents-command.ts';
import { registerApprovalCommands } from './approvals-command.ts';
import { registerAuditCommands } from './audit-command.ts';
import { forwardToBroker } from './admin.ts';
import { CliError } from './context.ts';
import { registerDbCommands } from './db-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerRulesCommands } from './rules-command.ts';
import { registerHeCommands } from './he-command.ts';
import { registerMcpCommand } from './mcp-command.ts';
import { registerReportCommand } from './report-command.ts';
import { registerTokenCommand } from './token-command.ts';
import { brokerContext, stderr, stdout } from './output.ts';

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

/**
 * Runs the CLI and returns its exit code; known failures print one clear line (no stack). When a running
 * broker holds the embedded database, the command is handed to that broker, which runs it on its database.
 */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeOut: (text) => stdout().write(text), writeErr: (text) => stderr().write(text) });
  const outer = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      stderr().write(`configuration error:\n${error.message}\n`);
      return 1;
    }
    if (error instanceof DataDirLockedError && error.brokerPort !== undefined && !brokerContext()) {
      return forwardToBroker(error, argv.slice(2));
    }
    if (error instanceof CliError || error instanceof DataDirLockedError) {
      stderr().write(`keyhole: ${error.message}\n`);
      return error instanceof CliError ? error.exitCode : 1;
    }
    stderr().write(`keyhole: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    process.exitCode = outer;
  }
}
