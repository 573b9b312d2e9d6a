import { createHash } from 'node:crypto';
import { appendLeaves, EMPTY_FRONTIER, type Frontier, type ReadNodes, type TreeNode } from '../../src/audit/merkle/index.ts';

/** A tree kept in memory as the database keeps it: the completed perfect-subtree nodes, keyed `${level}:${index}`. */
export interface MemoryTree {
  frontier: Frontier;
  nodes: Map<string, Uint8Array>;
  /** Every `read` call's wanted nodes, so a test can check one read per proof. */
  reads: { level: number; index: number }[][];
  read: ReadNodes;
}

export function memoryTree(leaves: readonly Uint8Array[]): MemoryTree {
  const { frontier, completed } = appendLeaves(EMPTY_FRONTIER, leaves);
  const tree: MemoryTree = {
    frontier,
    nodes: storeNodes(new Map(), completed),
    reads: [],
    read: async (wanted) => {
      tree.reads.push([...wanted]);
      return new Map(
        wanted.flatMap(({ level, index }) =>
          tree.nodes.has(`${level}:${index}`) ? [[`${level}:${index}`, tree.nodes.get(`${level}:${index}`)!] as const] : [],
        ),
      );
    },
  };
  return tree;
}

export function storeNodes(nodes: Map<string, Uint8Array>, completed: readonly TreeNode[]): Map<string, Uint8Array> {
  for (const node of completed) nodes.set(`${node.level}:${node.index}`, node.hash);
  return nodes;
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/**
 * RFC 9162 §2.1.1 MTH written straight from the definition (split at the largest power of two below n), with its
 * own hashing: the reference the incremental tree and the proofs are checked against.
 */
export function referenceRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return sha256();
  if (leafHashes.length === 1) return leafHashes[0]!;
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return sha256(Uint8Array.of(0x01), referenceRoot(leafHashes.slice(0, k)), referenceRoot(leafHashes.slice(k)));
}

export function referenceLeafHash(data: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x00), data);
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** A copy of `bytes` with bit `bit` (counted over the whole array) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
  return copy;
}
