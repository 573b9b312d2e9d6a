import { decodeBase64, encodeBase64 } from './base64.ts';
import { CheckpointError } from './errors.ts';
import { HASH_BYTES } from './hash.ts';

/** A C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the tree head a signed note carries. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Extra body lines after the root, e.g. the time it was signed; C2SP leaves them opaque. */
  extensions?: string[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function assertLine(line: string, what: string): void {
  if (line === '' || line.includes('\n')) throw new CheckpointError(`${what} must be one non-empty line`);
}

export function checkpointBody(checkpoint: Checkpoint): string {
  assertLine(checkpoint.origin, 'the origin');
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0)
    throw new CheckpointError(`the tree size must be a non-negative integer, got ${checkpoint.size}`);
  if (checkpoint.root.length !== HASH_BYTES) throw new CheckpointError(`the root must be ${HASH_BYTES} bytes, got ${checkpoint.root.length}`);
  const extensions = checkpoint.extensions ?? [];
  for (const line of extensions) assertLine(line, 'an extension');
  return [checkpoint.origin, String(checkpoint.size), encodeBase64(checkpoint.root), ...extensions].map((line) => `${line}\n`).join('');
}

export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointError('a checkpoint body ends with a newline');
  const [origin, size, root, ...extensions] = text.slice(0, -1).split('\n');
  if (root === undefined) throw new CheckpointError('a checkpoint body has an origin, a size and a root line');
  if (origin === '') throw new CheckpointError('the origin line is empty');
  if (!DECIMAL.test(size!) || !Number.isSafeInteger(Number(size))) throw new CheckpointError(`the size line is not a decimal tree size: ${size}`);
  const rootHash = decodeBase64(root);
  if (rootHash?.length !== HASH_BYTES) throw new CheckpointError(`the root line is not the base64 of ${HASH_BYTES} bytes: ${root}`);
  if (extensions.includes('')) throw new CheckpointError('an extension line is empty');
  return extensions.length > 0 ? { origin: origin!, size: Number(size), root: rootHash, extensions } : { origin: origin!, size: Number(size), root: rootHash };
}
