import { access, constants, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ProvableAuditError } from './errors.ts';

/** A checkpoint as read back from a sink (or handed in): where it came from, and its text. */
export interface CheckpointSource {
  source: string;
  note: string;
}

/**
 * Where signed checkpoints go outside the database: append-only, so whoever rewrites the database cannot take back
 * a checkpoint already handed out. An append-only directory is the default; an S3-compatible object store with
 * object lock (object-store-sink.ts) is the production option.
 */
export interface CheckpointSink {
  /** The sink's one name (an absolute directory, an s3:// URL), recorded with each checkpoint appended to it. */
  readonly where: string;
  /** Refuses a sink the broker could not append to, or one that would not keep what is appended: at start, not later. */
  check(): Promise<void>;
  /** Stores the note for `size`; a second, different note for the same size is refused, never written over. */
  append(size: number, note: string): Promise<void>;
  /** Every note the sink holds, oldest size first; where the store keeps versions, every version of each. */
  read(): Promise<CheckpointSource[]>;
}

const FILE = /^(\d{20})\.checkpoint$/;

/** A checkpoint's file (or object) name: its size, zero-padded so names sort as sizes do. */
export const checkpointFileName = (size: number): string => `${String(size).padStart(20, '0')}.checkpoint`;

/** The size a checkpoint's file or object name claims, when it is named as the sinks name them. */
export const sizeInCheckpointName = (source: string): number | null => {
  const match = /(\d{20})\.checkpoint(?:$| )/.exec(source);
  return match ? Number(match[1]) : null;
};

/** One file per checkpoint, named by its size, created with O_EXCL (flag `wx`): never overwritten. */
export function directorySink(dir: string): CheckpointSink {
  return {
    // Absolute, so the database records the same sink whichever directory a broker or the CLI started in.
    where: resolve(dir),
    async check() {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK).catch((error: Error) => {
        throw new ProvableAuditError('AUDIT_CHECKPOINT_SINK', `the checkpoint directory ${dir} is not writable: ${error.message}`);
      });
    },
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
    async read() {
      const names = (await readdir(dir)).filter((name) => FILE.test(name)).sort();
      return Promise.all(names.map(async (name) => ({ source: join(dir, name), note: await readFile(join(dir, name), 'utf8') })));
    },
  };
}
