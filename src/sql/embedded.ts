import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './db.ts';
import { createPgliteDb } from './pglite-adapter.ts';

export class DataDirLockedError extends Error {
  /** The port of the broker holding the directory, when the holder is a broker (the CLI can ask it instead). */
  readonly brokerPort: number | undefined;
  constructor(dir: string, holder: string, brokerPort?: number) {
    super(`the embedded database in ${dir} is held by ${holder}; stop it first, or point DATABASE_URL at a PostgreSQL server`);
    this.name = 'DataDirLockedError';
    this.brokerPort = brokerPort;
  }
}

/** Who holds the lock: a process, and for a broker the port it serves on. */
export interface LockHolder {
  name: string;
  port?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data dir's lock file, replacing a stale one whose process is gone. */
async function takeLock(lockFile: string, dir: string, holder: LockHolder): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, holder: holder.name, port: holder.port, since: new Date().toISOString() }));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const current = JSON.parse(await readFile(lockFile, 'utf8').catch(() => '{}')) as { pid?: number; holder?: string; port?: number; since?: string };
      if (current.pid && alive(current.pid) && current.pid !== process.pid) {
        throw new DataDirLockedError(dir, `${current.holder ?? 'another process'} (pid ${current.pid}, since ${current.since ?? '?'})`, current.port);
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new DataDirLockedError(dir, 'another process');
}

/**
 * The port of the live broker holding `dataDir`'s embedded database, if one does: how a CLI finds the broker it
 * should ask (its keys, its rules) without taking the lock.
 */
export async function brokerPortHolding(dataDir: string): Promise<number | undefined> {
  let current: { pid?: number; port?: number };
  try {
    current = JSON.parse(await readFile(join(dataDir, 'pgdata.lock'), 'utf8'));
  } catch {
    return undefined;
  }
  return current.pid && current.port !== undefined && alive(current.pid) ? current.port : undefined;
}

export interface EmbeddedDb {
  db: Db;
  /** True when this open created the database (first start). */
  created: boolean;
  dir: string;
}

/**
 * Opens the embedded PGlite database under `dataDir`. One process at a time: a lock file names the holder,
 * so a second opener gets a clear error instead of a corrupted directory.
 */
export async function openEmbeddedDb(dataDir: string, holder: LockHolder): Promise<EmbeddedDb> {
  const dir = join(dataDir, 'pgdata');
  await mkdir(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'pgdata.lock');
  await takeLock(lockFile, dir, holder);
  const created = !existsSync(join(dir, 'PG_VERSION'));
  try {
    const inner = await createPgliteDb({ dataDir: dir });
    const db: Db = {
      ...inner,
      async close() {
        await inner.close();
        await rm(lockFile, { force: true });
      },
    };
    return { db, created, dir };
  } catch (error) {
    await rm(lockFile, { force: true });
    throw error;
  }
}
