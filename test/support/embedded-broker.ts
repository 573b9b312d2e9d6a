import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './broker.ts';

/** Starts `keyhole serve` without DATABASE_URL (the embedded database) on the project at `root`, and waits for /healthz. */
export async function startEmbedded(dataDir: string, port: number, root = PROJECT_ROOT): Promise<{ process: ChildProcess; output: () => string }> {
  let output = '';
  const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_DATA_DIR: dataDir, PORT: String(port), KEYHOLE_ROOT: root };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { process: child, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the broker did not start:\n${output}`);
}

export async function stopEmbedded(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
