import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  consistencyProof,
  EMPTY_FRONTIER,
  frontierFromJson,
  frontierRoot,
  frontierToJson,
  inclusionProof,
  leafHash,
  MerkleError,
  perfectSubtrees,
  rootAt,
} from '../../src/audit/merkle/index.ts';
import { hex, memoryTree } from '../support/merkle.ts';

const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from(`record ${i}`)));

async function refusalCode(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof MerkleError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the frontier as stored', () => {
  it('round-trips through JSON and keeps appending to the same root', () => {
    const { frontier } = appendLeaves(EMPTY_FRONTIER, leaves.slice(0, 6));
    const json = JSON.parse(JSON.stringify(frontierToJson(frontier)));
    expect(json).toEqual({ size: 6, hashes: frontier.hashes.map(hex) });
    const restored = appendLeaves(frontierFromJson(json), leaves.slice(6)).frontier;
    expect(hex(frontierRoot(restored))).toBe(hex(frontierRoot(appendLeaves(EMPTY_FRONTIER, leaves).frontier)));
  });

  it.each([
    ['one hash too few', { size: 3, hashes: ['00'.repeat(32)] }],
    ['one hash too many', { size: 4, hashes: ['00'.repeat(32), '11'.repeat(32)] }],
    ['a short hash', { size: 1, hashes: ['00'.repeat(31)] }],
    ['upper-case hex', { size: 1, hashes: ['AA'.repeat(32)] }],
    ['a negative size', { size: -1, hashes: [] }],
    ['a fractional size', { size: 1.5, hashes: ['00'.repeat(32)] }],
  ])('refuses a stored frontier with %s', async (_, json) => {
    expect(['MERKLE_BAD_FRONTIER', 'MERKLE_BAD_SIZE']).toContain(await refusalCode(() => frontierFromJson(json)));
  });

  it('refuses a leaf hash that is not 32 bytes', async () => {
    expect(await refusalCode(() => appendLeaves(EMPTY_FRONTIER, [new Uint8Array(31)]))).toBe('MERKLE_BAD_HASH');
  });
});

describe('proof requests', () => {
  it('refuses a leaf past the tree, a shrinking tree and a proof from the empty tree', async () => {
    const tree = memoryTree(leaves);
    expect(await refusalCode(() => inclusionProof(13, 13, tree.read))).toBe('MERKLE_BAD_SIZE');
    expect(await refusalCode(() => consistencyProof(8, 7, tree.read))).toBe('MERKLE_BAD_SIZE');
    expect(await refusalCode(() => consistencyProof(0, 7, tree.read))).toBe('MERKLE_BAD_SIZE');
  });

  it('names a stored node that is missing instead of computing a wrong proof', async () => {
    const tree = memoryTree(leaves);
    tree.nodes.delete('2:2');
    await expect(inclusionProof(0, 13, tree.read)).rejects.toThrow('the stored node at level 2, index 2 is missing');
    expect(await refusalCode(() => rootAt(13, tree.read))).toBe('MERKLE_NODE_MISSING');
  });

  it('refuses a stored node of the wrong length', async () => {
    const tree = memoryTree(leaves);
    tree.nodes.set('2:2', new Uint8Array(31));
    expect(await refusalCode(() => rootAt(13, tree.read))).toBe('MERKLE_BAD_HASH');
  });

  it('refuses to split a range that is not made of aligned perfect subtrees', async () => {
    expect(perfectSubtrees(8, 13)).toEqual([
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(await refusalCode(() => perfectSubtrees(2, 7))).toBe('MERKLE_BAD_SIZE');
    expect(await refusalCode(() => perfectSubtrees(5, 4))).toBe('MERKLE_BAD_SIZE');
  });

  it('asks only for the nodes of the proof: the sibling path, with the cut right edge in its perfect parts', async () => {
    const tree = memoryTree(leaves);
    await inclusionProof(0, 13, tree.read);
    // 13 = 8 + 4 + 1: leaf 0's siblings are leaf 1, [2,4), [4,8), then [8,13) read as [8,12) and leaf 12.
    expect(tree.reads).toEqual([
      [
        { level: 0, index: 1 },
        { level: 1, index: 1 },
        { level: 2, index: 1 },
        { level: 2, index: 2 },
        { level: 0, index: 12 },
      ],
    ]);
  });
});
