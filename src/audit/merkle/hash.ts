import { createHash } from 'node:crypto';

/** RFC 9162 §2.1.1: the one-byte prefixes keep a leaf from ever passing as an interior node (second-preimage). */
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export const HASH_BYTES = 32;

export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

/** The root of the tree with no leaves (RFC 9162 §2.1.1: the hash of the empty string). */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(createHash('sha256').digest());

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Folds perfect subtrees (left to right, largest first) into the hash of the range they cover, right to left as RFC 9162's MTH splits. */
export function foldSubtrees(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}
