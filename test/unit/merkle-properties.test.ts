import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  consistencyProof,
  consistencyProofNodes,
  EMPTY_FRONTIER,
  frontierRoot,
  inclusionProof,
  inclusionProofNodes,
  leafHash,
  nodeHash,
  type ReadNodes,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/merkle/index.ts';
import { flipBit, hex, memoryTree, referenceLeafHash, referenceRoot } from '../support/merkle.ts';

const leavesOf = (count: number, seed = 0) => Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`record ${seed}:${i}`)));
const sizes = fc.integer({ min: 1, max: 300 });

describe('the Merkle tree against RFC 9162 computed from scratch', () => {
  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes', () => {
    const data = Buffer.from('an audit record');
    expect(hex(leafHash(data))).toBe(hex(referenceLeafHash(data)));
    expect(hex(nodeHash(leafHash(data), leafHash(data)))).toBe(hex(referenceRoot([leafHash(data), leafHash(data)])));
  });

  it('has the root of the recursive definition at every size, from the frontier and from stored nodes', async () => {
    const leaves = leavesOf(300);
    const tree = memoryTree(leaves);
    let frontier = EMPTY_FRONTIER;
    for (let size = 0; size <= leaves.length; size++) {
      const expected = hex(referenceRoot(leaves.slice(0, size)));
      expect(hex(frontierRoot(frontier)), `frontier root of ${size}`).toBe(expected);
      expect(hex(await rootAt(size, tree.read)), `stored root of ${size}`).toBe(expected);
      if (size < leaves.length) frontier = appendLeaves(frontier, [leaves[size]!]).frontier;
    }
  });

  it('proves every leaf of random trees up to 300 leaves, each proof in one read of O(log n) nodes', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), async (size, seed) => {
        const leaves = leavesOf(size, seed);
        const tree = memoryTree(leaves);
        const root = referenceRoot(leaves);
        for (let index = 0; index < size; index++) {
          tree.reads.length = 0;
          const proof = await inclusionProof(index, size, tree.read);
          expect(verifyInclusion(leaves[index]!, index, size, proof, root)).toBe(true);
          expect(tree.reads).toHaveLength(size > 1 ? 1 : 0);
          expect(tree.reads.flat().length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
        }
      }),
      { numRuns: 15 },
    );
  });

  it('proves every earlier tree consistent with every later one, for every pair of sizes', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), async (size, seed) => {
        const leaves = leavesOf(size, seed);
        const tree = memoryTree(leaves);
        const roots = Array.from({ length: size + 1 }, (_, n) => referenceRoot(leaves.slice(0, n)));
        for (let size2 = 1; size2 <= size; size2++) {
          for (let size1 = 1; size1 <= size2; size1++) {
            tree.reads.length = 0;
            const proof = await consistencyProof(size1, size2, tree.read);
            expect(verifyConsistency(size1, size2, proof, roots[size1]!, roots[size2]!), `${size1} -> ${size2}`).toBe(true);
            expect(tree.reads.length).toBeLessThanOrEqual(1);
          }
        }
      }),
      { numRuns: 3 },
    );
  });
});

describe('verification refuses anything altered', () => {
  it('refuses an inclusion proof with a flipped bit in the proof, the leaf, the index or the root', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 40 }), async (size, at, proofAt, bit, indexBit) => {
        const leaves = leavesOf(size);
        const index = at % size;
        const root = referenceRoot(leaves);
        const proof = await inclusionProof(index, size, memoryTree(leaves).read);
        const leaf = leaves[index]!;
        expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
        if (proof.length > 0) {
          const altered = proof.with(proofAt % proof.length, flipBit(proof[proofAt % proof.length]!, bit));
          expect(verifyInclusion(leaf, index, size, altered, root)).toBe(false);
        }
        expect(verifyInclusion(flipBit(leaf, bit), index, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index + (index & (2 ** indexBit) ? -1 : 1) * 2 ** indexBit, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, bit))).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof.slice(1), root)).toBe(size === 1);
        expect(verifyInclusion(leaf, index, size, [...proof, leaf], root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a consistency proof with a flipped bit in the proof or either root, or an extra hash', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), fc.nat(), fc.nat(), async (size2, at, proofAt, bit) => {
        const size1 = 1 + (at % size2);
        const leaves = leavesOf(size2);
        const [root1, root2] = [referenceRoot(leaves.slice(0, size1)), referenceRoot(leaves)];
        const proof = await consistencyProof(size1, size2, memoryTree(leaves).read);
        expect(verifyConsistency(size1, size2, proof, root1, root2)).toBe(true);
        if (proof.length > 0) {
          const altered = proof.with(proofAt % proof.length, flipBit(proof[proofAt % proof.length]!, bit));
          expect(verifyConsistency(size1, size2, altered, root1, root2)).toBe(false);
        }
        expect(verifyConsistency(size1, size2, proof, flipBit(root1, bit), root2)).toBe(false);
        expect(verifyConsistency(size1, size2, proof, root1, flipBit(root2, bit))).toBe(false);
        expect(verifyConsistency(size1, size2, [...proof, root2], root1, root2)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('appending', () => {
  it('gives the same frontier and the same completed nodes in any chunking as in one append', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 300 }), (count, chunkSizes) => {
        const leaves = leavesOf(count);
        const whole = appendLeaves(EMPTY_FRONTIER, leaves);
        let frontier = EMPTY_FRONTIER;
        const completed = [];
        for (let start = 0, chunk = 0; start < count; start += chunkSizes[chunk % chunkSizes.length]!, chunk++) {
          const appended = appendLeaves(frontier, leaves.slice(start, start + chunkSizes[chunk % chunkSizes.length]!));
          frontier = appended.frontier;
          completed.push(...appended.completed);
        }
        expect(frontier).toEqual(whole.frontier);
        expect(completed).toEqual(whole.completed);
        expect(hex(frontierRoot(frontier))).toBe(hex(referenceRoot(leaves)));
      }),
      { numRuns: 200 },
    );
  });

  it('completes 2n - popcount(n) nodes for n leaves: each perfect subtree once, nothing more', () => {
    for (const count of [1, 2, 3, 7, 8, 100, 255, 256, 1000]) {
      const { completed } = appendLeaves(EMPTY_FRONTIER, leavesOf(count));
      expect(completed).toHaveLength(2 * count - count.toString(2).replaceAll('0', '').length);
    }
  });
});

/**
 * A tree of `size` identical leaves: every perfect subtree at a level has the same hash, so proofs for sizes near
 * 2^53 can be built and checked without storing them. It exercises the index arithmetic where 32-bit operators
 * would wrap.
 */
function uniformTree(leaf: Uint8Array): ReadNodes {
  const byLevel = [leaf];
  for (let level = 1; level < 54; level++) byLevel.push(nodeHash(byLevel[level - 1]!, byLevel[level - 1]!));
  return async (wanted) => new Map(wanted.map(({ level, index }) => [`${level}:${index}`, byLevel[level]!]));
}

describe('sizes beyond 32 bits', () => {
  const hugeSizes = fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER });

  it('covers [0, size) exactly once with the leaf and the parts of its inclusion proof', () => {
    fc.assert(
      fc.property(hugeSizes, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (size, at) => {
        const index = at % size;
        const ranges = [
          [index, index + 1],
          ...inclusionProofNodes(index, size)
            .flat()
            .map(({ level, index: i }) => [i * 2 ** level, (i + 1) * 2 ** level]),
        ];
        ranges.sort((a, b) => a[0]! - b[0]!);
        let covered = 0;
        for (const [start, end] of ranges) {
          expect(start).toBe(covered);
          covered = end!;
        }
        expect(covered).toBe(size);
      }),
    );
  });

  it('builds inclusion and consistency proofs the RFC 9162 verifier accepts', async () => {
    const read = uniformTree(leafHash(Buffer.from('same')));
    await fc.assert(
      fc.asyncProperty(hugeSizes, fc.nat({ max: Number.MAX_SAFE_INTEGER }), async (size2, at) => {
        const point = 1 + (at % size2);
        const root2 = await rootAt(size2, read);
        const proof = await inclusionProof(point - 1, size2, read);
        expect(verifyInclusion(leafHash(Buffer.from('same')), point - 1, size2, proof, root2)).toBe(true);
        expect(consistencyProofNodes(point, size2).flat().length).toBeLessThanOrEqual(2 * 54);
        expect(verifyConsistency(point, size2, await consistencyProof(point, size2, read), await rootAt(point, read), root2)).toBe(true);
      }),
    );
  });
});
