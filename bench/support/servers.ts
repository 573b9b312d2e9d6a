/** Starts the servers under comparison as child processes (server-process.ts) and talks to them over IPC. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'pg' | 'postgraphile' | 'keyhole';

export interface StatementCounts {
  /** Statements other than BEGIN/COMMIT/ROLLBACK. */
  total: number;
  transactionControl: number;
  /** Count per statement, keyed by its first 60 characters. */
  byShape: Record<string, number>;
}

export type ServerMessage = { type: 'ready'; port: number; token: string | null } | { type: 'stats'; cpuMs: number; statements: StatementCounts };

export interface ServerStats {
  cpuMs: number;
  statements: StatementCounts;
}

export interface RunningServer {
  kind: ServerKind;
  url: string;
  /** An agent token (Keyhole only). */
  token: string | null;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  constructor(kind: ServerKind, detail: string) {
    super(`the ${kind} bench server did not start: ${detail}`);
    this.name = 'ServerStartError';
  }
}

const ENTRY = fileURLToPath(new URL('./server-process.ts', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function nextMessage<T extends ServerMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ServerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ServerMessage) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<ServerMessage, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited with code ${code}`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Forks one server on the bench's Node (Node 24: PostGraphile 5 needs ≥ 22) and waits until it listens. */
export async function startServer(
  kind: ServerKind,
  options: { databaseUrl: string; root?: string; agent?: string; profileDir?: string; env?: NodeJS.ProcessEnv },
): Promise<RunningServer> {
  const child = fork(ENTRY, [kind], {
    execPath: process.execPath,
    // A server asked to profile writes a V8 CPU profile into that directory when it stops (profile-summary.ts reads it).
    execArgv: [...process.execArgv, ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [])],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_DATABASE_URL: options.databaseUrl,
      BENCH_ROOT: options.root ?? PROJECT_ROOT,
      BENCH_AGENT: options.agent ?? 'support-bot',
      ...options.env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let ready: Awaited<ReturnType<typeof nextMessage<'ready'>>>;
  try {
    ready = await nextMessage(child, 'ready');
  } catch (error) {
    child.kill();
    throw new ServerStartError(kind, (error as Error).message);
  }
  return {
    kind,
    url: `http://127.0.0.1:${ready.port}/graphql`,
    token: ready.token,
    async stats() {
      const reply = nextMessage(child, 'stats');
      child.send({ type: 'stats' });
      const { cpuMs, statements } = await reply;
      return { cpuMs, statements };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
