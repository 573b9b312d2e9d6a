import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Plugin } from 'graphql-yoga';
import { resolveDataDir } from '../config/index.ts';
import type { DataDirLockedError } from '../sql/embedded.ts';
import type { CliContext } from './context.ts';
import { type CliEnvironment, stderr, stdout, withCliEnvironment } from './output.ts';

export const ADMIN_PATH = '/admin/cli';

/**
 * The commands a broker runs for a CLI on the database it holds: operators' commands on shared state. Named
 * here, not next to the program that registers them (broker-commands.ts), so a CLI deciding whether to hand
 * over does not load every one of those commands first.
 */
export const BROKER_COMMANDS: readonly string[] = ['agents', 'approvals', 'audit', 'db', 'incident', 'report', 'rules'];
const TOKEN_FILE = 'admin-token';

/**
 * The broker's side of CLI hand-over: it writes a fresh secret to its data dir (readable by its owner only),
 * so only someone who could open the data dir themselves can ask it to run a command.
 */
export async function writeAdminToken(dataDir: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, TOKEN_FILE), token, { mode: 0o600 });
  return token;
}

function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function sameSecret(given: string | null, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

type RunCli = (argv: string[]) => Promise<number>;

/**
 * `POST /admin/cli` on loopback with the data dir's secret: runs one CLI command inside the broker, on the
 * broker's database, and returns what it printed. Commands run one at a time (they share process state).
 */
export function useCliAdminRoute(options: { token: string; context: () => CliContext; runCli: RunCli }): Plugin {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname !== ADMIN_PATH) return;
      const remote = (serverContext as { req?: IncomingMessage }).req?.socket?.remoteAddress;
      if (request.method !== 'POST' || !sameSecret(request.headers.get('x-keyhole-admin'), options.token) || (remote !== undefined && !isLoopback(remote))) {
        endResponse(Response.json({ error: 'forbidden' }, { status: 403 }));
        return;
      }
      const body = (await request.json().catch(() => null)) as { argv?: unknown } | null;
      const argv = body?.argv;
      if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string')) {
        endResponse(Response.json({ error: 'expected { argv: string[] }' }, { status: 400 }));
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const streams = { stdout: new PassThrough(), stderr: new PassThrough() };
      streams.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      streams.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      const environment: CliEnvironment = { ...streams, context: options.context() };
      const run = queue.then(() => withCliEnvironment(environment, () => options.runCli(['node', 'keyhole', ...argv])));
      queue = run.catch(() => undefined);
      const exitCode = await run.catch(() => 1);
      endResponse(Response.json({ exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    },
  };
}

const PATH_OPTIONS = new Set(['--out']);

/** Paths the command names are resolved here, where the user typed them, not in the broker's directory. */
function absolutePaths(argv: string[]): string[] {
  return argv.map((arg, i) => {
    const [option, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (value !== undefined && PATH_OPTIONS.has(option)) return `${option}=${resolve(value)}`;
    return i > 0 && PATH_OPTIONS.has(argv[i - 1]!) ? resolve(arg) : arg;
  });
}

export interface BrokerRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Has the broker holding the data dir on `port` run `argv`; null when it cannot be asked (no secret, no answer). */
export async function runOnBroker(port: number, argv: string[]): Promise<BrokerRun | null> {
  const token = await readFile(join(resolveDataDir(), TOKEN_FILE), 'utf8').catch(() => null);
  const response = token
    ? await fetch(`http://127.0.0.1:${port}${ADMIN_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-keyhole-admin': token },
        body: JSON.stringify({ argv: absolutePaths(argv) }),
      }).catch(() => null)
    : null;
  return response?.ok ? ((await response.json()) as BrokerRun) : null;
}

/** The CLI's side: the broker holding the embedded database runs the command and sends back its output. */
export async function forwardToBroker(locked: DataDirLockedError, argv: string[]): Promise<number> {
  const result = locked.brokerPort === undefined ? null : await runOnBroker(locked.brokerPort, argv);
  if (!result) {
    stderr().write(`keyhole: ${locked.message}\n`);
    return 1;
  }
  stdout().write(result.stdout);
  stderr().write(result.stderr);
  return result.exitCode;
}
