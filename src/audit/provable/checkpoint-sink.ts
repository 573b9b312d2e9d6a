import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProvableAuditError } from './errors.ts';

/**
 * Where signed checkpoints go outside the database: append-only, so whoever rewrites the database cannot take back
 * a checkpoint already handed out. The directory below is the default; an S3-compatible object store with object
 * lock (compliance mode, one object per size, `If-None-Match: *` on PUT) is the production option behind the same
 * interface — see docs/officers.md, "Provable audit log".
 */
export interface CheckpointSink {
  readonly where: string;
  /** Stores the note for `size`; a second, different note for the same size is refused, never written over. */
  append(size: number, note: string): Promise<void>;
}

const FILE = /^(\d{20})\.checkpoint$/;

/** A checkpoint's file name: its size, zero-padded so names sort as sizes do. */
export const checkpointFileName = (size: number): string => `${String(size).padStart(20, '0')}.checkpoint`;

/** One file per checkpoint, named by its size, created with O_EXCL (flag `wx`): never overwritten. */
export function directorySink(dir: string): CheckpointSink {
  return {
    where: dir,
    async append(size, note) {
      await mkdir(dir, { recursive: true });
      const file = join(dir, checkpointFileName(size));
      try {
        await writeFile(file, note, { flag: 'wx', mode: 0o444 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // The same note again (a retry, or two brokers sharing the directory) is no conflict.
        if ((await readFile(file, 'utf8')) === note) return;
        throw new ProvableAuditError('AUDIT_CHECKPOINT_SINK', `${file} already holds a different checkpoint for size ${size}: it is never overwritten`);
      }
    },
  };
}

/** The notes of a checkpoint directory, by size. */
export async function readCheckpointDir(dir: string): Promise<Array<{ file: string; note: string }>> {
  const names = (await readdir(dir)).filter((name) => FILE.test(name)).sort();
  return Promise.all(names.map(async (name) => ({ file: join(dir, name), note: await readFile(join(dir, name), 'utf8') })));
}
