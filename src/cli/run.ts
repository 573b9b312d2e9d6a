import { type Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { DataDirLockedError } from '../sql/embedded.ts';
import { BROKER_COMMANDS, forwardToBroker } from './admin.ts';
import { CliError } from './context.ts';
import { withOfficerTokenArgument } from './officer-token.ts';
import { brokerContext, stderr, stdout } from './output.ts';

/**
 * Runs a command line on `program` and returns its exit code; known failures print one clear line (no
 * stack). When a running broker holds the embedded database and can run the command, it is handed over.
 */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  program.exitOverride().configureOutput({ writeOut: (text) => stdout().write(text), writeErr: (text) => stderr().write(text) });
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
    const args = argv.slice(2);
    if (error instanceof DataDirLockedError && error.brokerPort !== undefined && !brokerContext() && BROKER_COMMANDS.includes(args[0] ?? '')) {
      return forwardToBroker(error, withOfficerTokenArgument(args));
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
