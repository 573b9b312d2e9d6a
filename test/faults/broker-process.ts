import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadProjectConfig } from '../../src/config/index.ts';
import { issueToken, loadTokenKeys } from '../../src/identity/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { freePort } from '../support/ports.ts';

/** `keyhole serve` as an operator runs it, in a process of its own that a test may signal or kill. */
export interface BrokerProcess {
  base: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  token(agent: string): Promise<string>;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

export const ready = (base: string) => async () => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;

/** Starts a broker on a free port and waits until it is ready. */
export async function startBrokerProcess(env: NodeJS.ProcessEnv, dataDir: string): Promise<BrokerProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), 'serve'], {
    env: { ...process.env, KEYHOLE_ROOT: PROJECT_ROOT, KEYHOLE_DATA_DIR: dataDir, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await Promise.race([
    waitFor(ready(base), 30_000, 'broker start'),
    exited.then((code) => {
      throw new Error(`broker exited (${code}) before it was ready:\n${output}`);
    }),
  ]);
  const config = await loadProjectConfig(PROJECT_ROOT);
  const keys = await loadTokenKeys(dataDir, {});
  return {
    base,
    child,
    output: () => output,
    exited,
    token: (agent) => issueToken({ keys, registry: config.registry, subject: agent, ttlSeconds: 3600 }),
  };
}
