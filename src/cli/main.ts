import { Command } from 'commander';
import { runProgram } from './run.ts';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when needed: a command line naming one command loads that one alone, so
 * `agents revoke` does not pay for the broker, the compliance engine or homomorphic encryption at start.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve-command.ts')).registerServeCommand,
  token: async () => (await import('./token-command.ts')).registerTokenCommand,
  db: async () => (await import('./db-command.ts')).registerDbCommands,
  demo: async () => (await import('./demo-command.ts')).registerDemoCommand,
  audit: async () => (await import('./audit-command.ts')).registerAuditCommands,
  agents: async () => (await import('./agents-command.ts')).registerAgentCommands,
  incident: async () => (await import('./incident-command.ts')).registerIncidentCommands,
  approvals: async () => (await import('./approvals-command.ts')).registerApprovalCommands,
  rules: async () => (await import('./rules-command.ts')).registerRulesCommands,
  he: async () => (await import('./he-command.ts')).registerHeCommands,
  report: async () => (await import('./report-command.ts')).registerReportCommand,
  mcp: async () => (await import('./mcp-command.ts')).registerMcpCommand,
};

/** The program for `argv`: the command it names, or every command (for help and unknown commands). */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('keyhole')
    .description('Keyhole: the privacy-preserving data access broker for AI agents')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nEnvironment:\n  DATABASE_URL        PostgreSQL to use (default: embedded PGlite under KEYHOLE_DATA_DIR)\n  KEYHOLE_DATA_DIR    embedded database, dev keys and secrets (default ./.keyhole)\n  KEYHOLE_ROOT        project directory with schema/ and masking-rules/ (default: this package)',
    );
  const named = argv[2];
  const needed = named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(needed.map((load) => load()))) register(program);
  return program;
}

/** Runs the CLI and returns its exit code. */
export async function runCli(argv: string[]): Promise<number> {
  return runProgram(await buildProgram(argv), argv);
}
