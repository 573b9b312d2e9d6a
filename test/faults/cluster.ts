import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readdirSync, rmSync } from 'node:fs';
import { freePort } from '../support/ports.ts';

const run = promisify(execFile);

/** The newest installed PostgreSQL's binaries (Debian keeps them out of PATH). */
function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** A PostgreSQL cluster of a test's own, on a free port: it can be stopped, killed and restarted at will. */
export interface ThrowawayCluster {
  url: string;
  port: number;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash or failover. */
  stopImmediately(): Promise<void>;
  /** Stops the server (if running) and deletes its directory. */
  destroy(): Promise<void>;
}

/** Clusters not yet destroyed, by their directories: a failed or interrupted run still removes them. */
const live = new Map<string, () => void>();
process.once('exit', () => {
  for (const destroySync of live.values()) destroySync();
});

/**
 * initdb and pg_ctl as the `postgres` user (the server refuses to run as root), trust auth on 127.0.0.1 only.
 * The data dir lives under a temp dir that user may write.
 */
export async function createThrowawayCluster(): Promise<ThrowawayCluster> {
  const bin = binDir();
  const root = await mkdtemp(join(tmpdir(), 'keyhole-faults-'));
  await chmod(root, 0o777);
  const dataDir = join(root, 'data');
  const port = await freePort();
  const pgBin = (command: string) => join(bin, command);
  const asPostgres = (command: string): [string, string[]] =>
    process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', pgBin(command)]] : [pgBin(command), []];
  const runAs = (command: string, args: string[]) => {
    const [file, prefix] = asPostgres(command);
    return run(file, [...prefix, ...args]);
  };
  const stopArgs = ['stop', '-m', 'immediate', '-D', dataDir];
  await runAs('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  let running = false;
  const destroySync = () => {
    const [file, prefix] = asPostgres('pg_ctl');
    if (running) {
      try {
        execFileSync(file, [...prefix, ...stopArgs], { stdio: 'ignore' });
      } catch {
        // Already stopped.
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  live.set(root, destroySync);
  const cluster: ThrowawayCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await runAs('pg_ctl', ['start', '-w', '-D', dataDir, '-o', options, '-l', join(root, 'server.log')]);
      running = true;
    },
    async stopImmediately() {
      await runAs('pg_ctl', stopArgs);
      running = false;
    },
    async destroy() {
      live.delete(root);
      if (running) await runAs('pg_ctl', stopArgs).catch(() => undefined);
      running = false;
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
