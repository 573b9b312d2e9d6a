import { join } from 'node:path';

/** How often checkpoints are signed, under which origin, and where outside the database they are appended. */
export interface CheckpointConfig {
  origin: string;
  /** A checkpoint once this many records were appended since the last one... */
  everyRecords: number;
  /** ...or once this many seconds passed since it, if anything was appended. */
  everySeconds: number;
  /** The append-only directory the signed notes go to. */
  dir: string;
}

export const DEFAULT_CHECKPOINT_ORIGIN = 'keyhole.local/audit';
export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1_000;
export const DEFAULT_CHECKPOINT_EVERY_SECONDS = 60;

function positiveWholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got "${text}"`);
  return value;
}

/** KEYHOLE_CHECKPOINT_ORIGIN, _EVERY_RECORDS, _EVERY_SECONDS and _DIR (default <dataDir>/checkpoints). */
export function checkpointConfigFrom(dataDir: string, env: NodeJS.ProcessEnv): CheckpointConfig {
  const origin = env.KEYHOLE_CHECKPOINT_ORIGIN || DEFAULT_CHECKPOINT_ORIGIN;
  // The origin is the note's first line and its key's name: a line break or '+' would make another note.
  if (/[\s+]/.test(origin)) throw new Error(`KEYHOLE_CHECKPOINT_ORIGIN must hold no space, line break or '+', got "${origin}"`);
  return {
    origin,
    everyRecords: positiveWholeNumber('KEYHOLE_CHECKPOINT_EVERY_RECORDS', env.KEYHOLE_CHECKPOINT_EVERY_RECORDS, DEFAULT_CHECKPOINT_EVERY_RECORDS),
    everySeconds: positiveWholeNumber('KEYHOLE_CHECKPOINT_EVERY_SECONDS', env.KEYHOLE_CHECKPOINT_EVERY_SECONDS, DEFAULT_CHECKPOINT_EVERY_SECONDS),
    dir: env.KEYHOLE_CHECKPOINT_DIR || join(dataDir, 'checkpoints'),
  };
}
