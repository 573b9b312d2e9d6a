import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import type { Writable } from 'node:stream';
import type { BrokerSecrets, ProjectConfig } from '../config/index.ts';
import type { Db } from '../sql/index.ts';

/** What a command runs on: the project's files and secrets and an open database (context.ts opens it). */
export interface CliContext {
  root: string;
  dataDir: string;
  config: ProjectConfig;
  secrets: BrokerSecrets;
  db: Db;
  /** Where the database is, for messages. */
  where: string;
}

/**
 * Where a CLI command writes, and which database it uses. Normally the terminal and a database the command
 * opens itself; when a running broker executes the command for a CLI (the embedded database belongs to the
 * broker), its output is captured for that CLI and the command uses the broker's database.
 */
export interface CliEnvironment {
  stdout: Writable;
  stderr: Writable;
  /** The broker's own context, when the broker runs the command. */
  context?: Omit<CliContext, 'where'> & { where: string };
}

const environment = new AsyncLocalStorage<CliEnvironment>();

export const stdout = (): Writable => environment.getStore()?.stdout ?? process.stdout;
export const stderr = (): Writable => environment.getStore()?.stderr ?? process.stderr;
export const brokerContext = (): CliEnvironment['context'] => environment.getStore()?.context;

/** Prints rows as a table on the command's stdout. */
export function printTable(rows: ReadonlyArray<Record<string, unknown>>): void {
  new Console({ stdout: stdout(), stderr: stderr() }).table(rows);
}

export function withCliEnvironment<T>(env: CliEnvironment, fn: () => Promise<T>): Promise<T> {
  return environment.run(env, fn);
}
