import { equalHashes, HASH_BYTES, nodeHash } from './hash.ts';
import { half, isOdd } from './layout.ts';

/**
 * The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step: they are what a regulator runs offline, so
 * they stay the spec's algorithm rather than sharing the builders' layout code (a bug there must not cancel out).
 * They never throw: anything malformed is simply not a proof.
 */

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function allHashes(proof: readonly Uint8Array[]): boolean {
  return proof.every((hash) => hash instanceof Uint8Array && hash.length === HASH_BYTES);
}

/** `leaf` is the leaf HASH (leafHash of the record's bytes), as stored at level 0. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isSize(index) || !isSize(size) || index >= size || leaf.length !== HASH_BYTES || !allHashes(proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalHashes(r, root);
}

export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!isSize(size1) || !isSize(size2) || size1 > size2 || !allHashes(proof)) return false;
  // §2.1.4.1 defines proofs for 0 < size1 only: every tree extends the empty one, so a "proof" from it proves
  // nothing and is refused (as transparency-dev/merkle does). Equal sizes need no proof, only equal roots.
  if (size1 === 0) return false;
  if (size1 === size2) return proof.length === 0 && equalHashes(root1, root2);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return equalHashes(fr, root1) && equalHashes(sr, root2) && sn === 0;
}

function isPowerOfTwo(n: number): boolean {
  let rest = n;
  while (rest > 1 && !isOdd(rest)) rest = half(rest);
  return rest === 1;
}
