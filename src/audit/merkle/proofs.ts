import { MerkleError } from './errors.ts';
import { EMPTY_ROOT, foldSubtrees, HASH_BYTES } from './hash.ts';
import { assertSize, half, isOdd, type NodeId, nodeKey, partsOfNode, perfectSubtrees } from './layout.ts';

/** Reads stored perfect-subtree hashes, keyed `${level}:${index}`; a node it leaves out is missing from storage. */
export type ReadNodes = (wanted: readonly NodeId[]) => Promise<Map<string, Uint8Array>>;

/**
 * The siblings on the way from node (level, index) up to the root of a tree of `size` leaves, bottom first, each
 * as its perfect parts. Every left subtree in an RFC 9162 tree is perfect, so node boundaries at a level are
 * multiples of 2^level whatever the size: the path is the plain binary one, minus siblings past the size, with
 * the right sibling cut by the size where it is the incomplete edge.
 */
function siblingPath(index: number, level: number, size: number): NodeId[][] {
  const steps: NodeId[][] = [];
  let position = index;
  for (let at = level; 2 ** at < size; at++, position = half(position)) {
    const sibling = isOdd(position) ? position - 1 : position + 1;
    if (sibling * 2 ** at < size) steps.push(partsOfNode(at, sibling, size));
  }
  return steps;
}

/** RFC 9162 §2.1.3.1 PATH(index, D[size]), as the stored nodes each proof hash is made of. */
export function inclusionProofNodes(index: number, size: number): NodeId[][] {
  assertSize(size, 'the tree size');
  assertSize(index, 'the leaf index');
  if (index >= size) throw new MerkleError('MERKLE_BAD_SIZE', `leaf ${index} is not in a tree of ${size} leaves`);
  return siblingPath(index, 0, size);
}

/**
 * RFC 9162 §2.1.4.1 PROOF(size1, D[size2]). The largest perfect subtree ending at size1 is in both trees; the
 * proof is that subtree (left out when it is the whole old tree, which the verifier holds as root1) followed by
 * its inclusion path in the new tree.
 */
export function consistencyProofNodes(size1: number, size2: number): NodeId[][] {
  assertSize(size1, 'the old tree size');
  assertSize(size2, 'the new tree size');
  if (size1 > size2) throw new MerkleError('MERKLE_BAD_SIZE', `a tree of ${size1} leaves cannot be a prefix of one of ${size2}`);
  if (size1 === 0) throw new MerkleError('MERKLE_BAD_SIZE', 'there is no consistency proof from the empty tree: every tree extends it');
  if (size1 === size2) return [];
  let level = 0;
  while (!isOdd(size1 / 2 ** level)) level++;
  const index = size1 / 2 ** level - 1;
  const path = siblingPath(index, level, size2);
  return index === 0 ? path : [[{ level, index }], ...path];
}

/** One read for the whole proof, then each step's hash folded from its parts. */
async function resolveSteps(steps: readonly NodeId[][], read: ReadNodes): Promise<Uint8Array[]> {
  const wanted = new Map<string, NodeId>();
  for (const parts of steps) for (const part of parts) wanted.set(nodeKey(part.level, part.index), part);
  if (wanted.size === 0) return [];
  const found = await read([...wanted.values()]);
  return steps.map((parts) =>
    foldSubtrees(
      parts.map((part) => {
        const hash = found.get(nodeKey(part.level, part.index));
        if (!hash) throw new MerkleError('MERKLE_NODE_MISSING', `the stored node at level ${part.level}, index ${part.index} is missing`);
        if (hash.length !== HASH_BYTES)
          throw new MerkleError('MERKLE_BAD_HASH', `the stored node at level ${part.level}, index ${part.index} is not ${HASH_BYTES} bytes`);
        return hash;
      }),
    ),
  );
}

export function inclusionProof(index: number, size: number, read: ReadNodes): Promise<Uint8Array[]> {
  return resolveSteps(inclusionProofNodes(index, size), read);
}

export function consistencyProof(size1: number, size2: number, read: ReadNodes): Promise<Uint8Array[]> {
  return resolveSteps(consistencyProofNodes(size1, size2), read);
}

/** The root of the first `size` leaves, from the perfect subtrees of its decomposition. */
export async function rootAt(size: number, read: ReadNodes): Promise<Uint8Array> {
  assertSize(size, 'the tree size');
  if (size === 0) return EMPTY_ROOT;
  const [root] = await resolveSteps([perfectSubtrees(0, size)], read);
  return root!;
}
