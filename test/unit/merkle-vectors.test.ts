import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  consistencyProof,
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  frontierRoot,
  inclusionProof,
  leafHash,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/merkle/index.ts';
import probes from '../fixtures/merkle/transparency-dev-probes.json' with { type: 'json' };
import { fromBase64, fromHex, hex, memoryTree } from '../support/merkle.ts';

/*
 * The RFC 6962 / RFC 9162 reference vectors: 8 leaf inputs with every node hash and root, as used since
 * certificate-transparency-go's merkle tests. Copied from github.com/transparency-dev/merkle
 * testonly/constants.go (LeafInputs, NodeHashes, RootHashes, CompactTrees) at commit 417fb0c3.
 */
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const NODE_HASHES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];
const ROOT_HASHES = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** CompactTrees: the frontier of each size, as [level, index] of NODE_HASHES. */
const COMPACT_TREES: [number, number][][] = [
  [],
  [[0, 0]],
  [[1, 0]],
  [
    [1, 0],
    [0, 2],
  ],
  [[2, 0]],
  [
    [2, 0],
    [0, 4],
  ],
  [
    [2, 0],
    [1, 2],
  ],
  [
    [2, 0],
    [1, 2],
    [0, 6],
  ],
  [[3, 0]],
];

/*
 * The RFC 6962 proof tables (certificate-transparency-go merkle tests, today github.com/transparency-dev/merkle
 * cmd/proofgen/main.go, commit 417fb0c3). Leaf indexes there are 1-based; here 0-based.
 */
const INCLUSION_PROOFS: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY_PROOFS: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const leaves = LEAF_INPUTS.map(leafHash);

describe('the RFC 6962 reference tree of 8 leaves', () => {
  it('hashes each leaf input to the published level-0 node', () => {
    expect(leaves.map(hex)).toEqual(NODE_HASHES[0]);
  });

  it('completes exactly the published perfect-subtree nodes, and the root of every size 0..8 is the published one', () => {
    let frontier = EMPTY_FRONTIER;
    const stored: string[][] = [[], [], [], []];
    expect(hex(frontierRoot(frontier))).toBe(ROOT_HASHES[0]);
    expect(hex(EMPTY_ROOT)).toBe(ROOT_HASHES[0]);
    for (const [i, leaf] of leaves.entries()) {
      const appended = appendLeaves(frontier, [leaf]);
      frontier = appended.frontier;
      for (const node of appended.completed) stored[node.level]![node.index] = hex(node.hash);
      expect(hex(frontierRoot(frontier)), `root of size ${i + 1}`).toBe(ROOT_HASHES[i + 1]);
      expect(frontier.hashes.map(hex), `frontier of size ${i + 1}`).toEqual(COMPACT_TREES[i + 1]!.map(([level, index]) => NODE_HASHES[level]![index]));
    }
    expect(stored).toEqual(NODE_HASHES);
  });

  it('rebuilds the root of every earlier size from the stored nodes alone', async () => {
    const tree = memoryTree(leaves);
    for (let size = 0; size <= 8; size++) expect(hex(await rootAt(size, tree.read))).toBe(ROOT_HASHES[size]);
  });

  it.each(INCLUSION_PROOFS)('builds the published inclusion proof of leaf $index in a tree of $size', async ({ index, size, proof }) => {
    const tree = memoryTree(leaves);
    const built = await inclusionProof(index, size, tree.read);
    expect(built.map(hex)).toEqual(proof);
    expect(verifyInclusion(leaves[index]!, index, size, built, fromHex(ROOT_HASHES[size]!))).toBe(true);
  });

  it.each(CONSISTENCY_PROOFS)('builds the published consistency proof from $size1 to $size2', async ({ size1, size2, proof }) => {
    const tree = memoryTree(leaves);
    const built = await consistencyProof(size1, size2, tree.read);
    expect(built.map(hex)).toEqual(proof);
    expect(verifyConsistency(size1, size2, built, fromHex(ROOT_HASHES[size1]!), fromHex(ROOT_HASHES[size2]!))).toBe(true);
  });
});

describe('the transparency-dev/merkle verification probes (testdata/inclusion and testdata/consistency)', () => {
  const bytes = (text: string) => fromBase64(text);
  const proofOf = (proof: string[] | null) => (proof ?? []).map(bytes);

  it.each(probes.inclusion)('inclusion $file: $desc', (probe) => {
    const verified = verifyInclusion(bytes(probe.leafHash), probe.leafIdx, probe.treeSize, proofOf(probe.proof), bytes(probe.root));
    expect(verified).toBe(!probe.wantErr);
  });

  it.each(probes.consistency)('consistency $file: $desc', (probe) => {
    const verified = verifyConsistency(probe.size1, probe.size2, proofOf(probe.proof), bytes(probe.root1), bytes(probe.root2));
    expect(verified).toBe(!probe.wantErr);
  });

  // The happy paths over the 8 reference leaves are proofs this module must build byte for byte.
  const reference = (root: string, size: number) => size <= 8 && hex(bytes(root)) === ROOT_HASHES[size];

  it.each(probes.inclusion.filter((probe) => !probe.wantErr && reference(probe.root, probe.treeSize)))('builds the probe $file', async (probe) => {
    const built = await inclusionProof(probe.leafIdx, probe.treeSize, memoryTree(leaves).read);
    expect(built.map(hex)).toEqual(proofOf(probe.proof).map(hex));
  });

  it.each(probes.consistency.filter((probe) => !probe.wantErr && reference(probe.root2, probe.size2)))('builds the probe $file', async (probe) => {
    const built = await consistencyProof(probe.size1, probe.size2, memoryTree(leaves).read);
    expect(built.map(hex)).toEqual(proofOf(probe.proof).map(hex));
  });
});
