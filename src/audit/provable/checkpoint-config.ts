import { join } from 'node:path';
import { type CheckpointSink, directorySink } from './checkpoint-sink.ts';
import { type ObjectLockMode, type ObjectStoreConfig, objectStoreSink, parseObjectStoreUrl } from './object-store-sink.ts';

/** How often checkpoints are signed, under which origin, and where outside the database they are appended. */
export interface CheckpointConfig {
  origin: string;
  /** A checkpoint once this many records were appended since the last one... */
  everyRecords: number;
  /** ...or once this many seconds passed since it, if anything was appended. */
  everySeconds: number;
  /** The append-only directory the signed notes go to, unless an object store is configured. */
  dir: string;
  /** The production sink: a bucket under object lock. */
  objectStore: ObjectStoreConfig | null;
}

export const DEFAULT_CHECKPOINT_ORIGIN = 'keyhole.local/audit';
export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1_000;
export const DEFAULT_CHECKPOINT_EVERY_SECONDS = 60;
/** Seven years, the longest retention common audit rules ask for (SOX, many financial regulators). */
export const DEFAULT_CHECKPOINT_RETAIN_DAYS = 2_557;

function positiveWholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got "${text}"`);
  return value;
}

/**
 * The object store named by `url` (s3://bucket/prefix), with the endpoint, region, retention, lock mode and
 * credentials of KEYHOLE_CHECKPOINT_S3_ENDPOINT, _S3_REGION (else AWS_REGION), _RETAIN_DAYS, _LOCK_MODE and
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (else the AWS SDK's default chain).
 */
export function objectStoreConfigFrom(url: string, env: NodeJS.ProcessEnv): ObjectStoreConfig {
  const location = parseObjectStoreUrl(url);
  if (!location) throw new Error(`"${url}" is not an s3://bucket/prefix URL`);
  const lockMode = (env.KEYHOLE_CHECKPOINT_LOCK_MODE || 'COMPLIANCE').toUpperCase();
  if (lockMode !== 'COMPLIANCE' && lockMode !== 'GOVERNANCE') {
    throw new Error(`KEYHOLE_CHECKPOINT_LOCK_MODE must be COMPLIANCE or GOVERNANCE, got "${env.KEYHOLE_CHECKPOINT_LOCK_MODE}"`);
  }
  const endpoint = env.KEYHOLE_CHECKPOINT_S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !(/^https?:\/\//.test(endpoint) && URL.canParse(endpoint))) {
    throw new Error(`KEYHOLE_CHECKPOINT_S3_ENDPOINT must be a URL (http:// or https://), got "${endpoint}"`);
  }
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    ...location,
    endpoint,
    region: env.KEYHOLE_CHECKPOINT_S3_REGION || env.AWS_REGION || 'us-east-1',
    retainDays: positiveWholeNumber('KEYHOLE_CHECKPOINT_RETAIN_DAYS', env.KEYHOLE_CHECKPOINT_RETAIN_DAYS, DEFAULT_CHECKPOINT_RETAIN_DAYS),
    lockMode: lockMode as ObjectLockMode,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}

/** KEYHOLE_CHECKPOINT_ORIGIN, _EVERY_RECORDS, _EVERY_SECONDS, _DIR (default <dataDir>/checkpoints) and _S3. */
export function checkpointConfigFrom(dataDir: string, env: NodeJS.ProcessEnv): CheckpointConfig {
  const origin = env.KEYHOLE_CHECKPOINT_ORIGIN || DEFAULT_CHECKPOINT_ORIGIN;
  // The origin is the note's first line and its key's name: a line break or '+' would make another note.
  if (/[\s+]/.test(origin)) throw new Error(`KEYHOLE_CHECKPOINT_ORIGIN must hold no space, line break or '+', got "${origin}"`);
  return {
    origin,
    everyRecords: positiveWholeNumber('KEYHOLE_CHECKPOINT_EVERY_RECORDS', env.KEYHOLE_CHECKPOINT_EVERY_RECORDS, DEFAULT_CHECKPOINT_EVERY_RECORDS),
    everySeconds: positiveWholeNumber('KEYHOLE_CHECKPOINT_EVERY_SECONDS', env.KEYHOLE_CHECKPOINT_EVERY_SECONDS, DEFAULT_CHECKPOINT_EVERY_SECONDS),
    dir: env.KEYHOLE_CHECKPOINT_DIR || join(dataDir, 'checkpoints'),
    objectStore: env.KEYHOLE_CHECKPOINT_S3 ? objectStoreConfigFrom(env.KEYHOLE_CHECKPOINT_S3, env) : null,
  };
}

/** The sink a broker appends to: the object store when one is configured, else the directory. */
export const checkpointSinkOf = (config: Pick<CheckpointConfig, 'dir' | 'objectStore'>): CheckpointSink =>
  config.objectStore ? objectStoreSink(config.objectStore) : directorySink(config.dir);

/** The sink at `where`, an s3:// URL or a directory: what `audit verify --checkpoints` reads back. */
export const checkpointSinkAt = (where: string, env: NodeJS.ProcessEnv): CheckpointSink =>
  parseObjectStoreUrl(where) ? objectStoreSink(objectStoreConfigFrom(where, env)) : directorySink(where);
