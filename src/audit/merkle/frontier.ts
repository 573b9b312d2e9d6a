import { MerkleError } from './errors.ts';
import { foldSubtrees, HASH_BYTES, nodeHash } from './hash.ts';
import { assertSize, countPerfectSubtrees, half, isOdd, type NodeId } from './layout.ts';

export interface TreeNode extends NodeId {
  hash: Uint8Array;
}

/**
 * The right edge of a tree of `size` leaves: the hashes of the perfect subtrees of its binary decomposition,
 * largest first. It is all an appender needs, so extending the tree never reads stored nodes.
 */
export interface Frontier {
  size: number;
  hashes: Uint8Array[];
}

export const EMPTY_FRONTIER: Frontier = Object.freeze({ size: 0, hashes: Object.freeze([] as Uint8Array[]) as Uint8Array[] });

function assertFrontier(frontier: Frontier): void {
  assertSize(frontier.size, 'a frontier size');
  const expected = countPerfectSubtrees(frontier.size);
  if (frontier.hashes.length !== expected) {
    throw new MerkleError('MERKLE_BAD_FRONTIER', `a tree of ${frontier.size} leaves has ${expected} frontier hashes, not ${frontier.hashes.length}`);
  }
  for (const hash of frontier.hashes) assertHash(hash, 'a frontier hash');
}

function assertHash(hash: Uint8Array, what: string): void {
  if (hash.length !== HASH_BYTES) throw new MerkleError('MERKLE_BAD_HASH', `${what} must be ${HASH_BYTES} bytes, got ${hash.length}`);
}

/**
 * Appends leaf hashes. Each leaf becomes a level-0 node; while the new node is a right child (odd index) its left
 * sibling is the frontier's last hash, so both merge into their parent, which is then complete. Every merge
 * consumes a frontier entry some earlier leaf pushed, hence O(leaves + log n) hashes in all.
 */
export function appendLeaves(frontier: Frontier, leaves: readonly Uint8Array[]): { frontier: Frontier; completed: TreeNode[] } {
  assertFrontier(frontier);
  const hashes = frontier.hashes.slice();
  const completed: TreeNode[] = [];
  let size = frontier.size;
  for (const leaf of leaves) {
    assertHash(leaf, 'a leaf hash');
    let node: TreeNode = { level: 0, index: size, hash: leaf };
    completed.push(node);
    while (isOdd(node.index)) {
      const left = hashes.pop()!;
      node = { level: node.level + 1, index: half(node.index), hash: nodeHash(left, node.hash) };
      completed.push(node);
    }
    hashes.push(node.hash);
    size++;
  }
  assertSize(size, 'the tree size');
  return { frontier: { size, hashes }, completed };
}

export function frontierRoot(frontier: Frontier): Uint8Array {
  assertFrontier(frontier);
  return foldSubtrees(frontier.hashes);
}

export function frontierToJson(frontier: Frontier): { size: number; hashes: string[] } {
  return { size: frontier.size, hashes: frontier.hashes.map((hash) => Buffer.from(hash).toString('hex')) };
}

export function frontierFromJson(json: { size: number; hashes: string[] }): Frontier {
  if (!Array.isArray(json?.hashes)) throw new MerkleError('MERKLE_BAD_FRONTIER', 'a stored frontier has no hashes array');
  const hashes = json.hashes.map((hex) => {
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex))
      throw new MerkleError('MERKLE_BAD_FRONTIER', `a stored frontier hash is not 64 hex digits: ${hex}`);
    return new Uint8Array(Buffer.from(hex, 'hex'));
  });
  const frontier = { size: json.size, hashes };
  assertFrontier(frontier);
  return frontier;
}
