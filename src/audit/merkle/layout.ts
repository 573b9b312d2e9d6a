import { MerkleError } from './errors.ts';

/**
 * A stored node is the hash of the perfect subtree at `level` (0 = leaves) and `index`, covering leaves
 * [index * 2^level, (index + 1) * 2^level). Only complete subtrees are ever stored, so a node never changes once
 * written; the hash of an incomplete right edge is recomputed from its perfect parts.
 *
 * Arithmetic is by division, not bit operators: those truncate to 32 bits, sizes go up to 2^53.
 */
export interface NodeId {
  level: number;
  index: number;
}

export function nodeKey(level: number, index: number): string {
  return `${level}:${index}`;
}

export function assertSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new MerkleError('MERKLE_BAD_SIZE', `${what} must be a non-negative safe integer, got ${size}`);
}

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

/** How many perfect subtrees a tree of `size` leaves decomposes into (one per set bit). */
export function countPerfectSubtrees(size: number): number {
  let count = 0;
  for (let rest = size; rest > 0; rest = half(rest)) if (isOdd(rest)) count++;
  return count;
}

function highestLevel(length: number): number {
  let level = 0;
  while (2 ** (level + 1) <= length) level++;
  return level;
}

/**
 * The perfect subtrees covering leaves [start, end), largest first. `start` must be a multiple of the largest
 * part's width, which holds for every range a proof or root needs: [0, size), or a right sibling cut by the size.
 */
export function perfectSubtrees(start: number, end: number): NodeId[] {
  assertSize(start, 'a range start');
  assertSize(end, 'a range end');
  if (end < start) throw new MerkleError('MERKLE_BAD_SIZE', `the range [${start}, ${end}) ends before it starts`);
  const parts: NodeId[] = [];
  let position = start;
  let rest = end - start;
  for (let level = rest > 0 ? highestLevel(rest) : -1; level >= 0; level--) {
    const width = 2 ** level;
    if (rest >= width) {
      if (position % width !== 0) throw new MerkleError('MERKLE_BAD_SIZE', `[${start}, ${end}) is not made of aligned perfect subtrees`);
      parts.push({ level, index: position / width });
      position += width;
      rest -= width;
    }
  }
  return parts;
}

/** The perfect parts of the node (level, index) in a tree of `size` leaves: itself, or its pieces when the size cuts it. */
export function partsOfNode(level: number, index: number, size: number): NodeId[] {
  const width = 2 ** level;
  const start = index * width;
  const end = Math.min(start + width, size);
  return end - start === width ? [{ level, index }] : perfectSubtrees(start, end);
}
