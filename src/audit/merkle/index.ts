/**
 * The provable audit log's pure core: an RFC 9162 Merkle tree, its inclusion and consistency proofs, and C2SP
 * tlog-checkpoints signed as C2SP signed notes. Nothing here touches storage or decides what a leaf is.
 *
 * Leaves: appendLeaves and verifyInclusion take leaf HASHES (leafHash of the leaf's bytes). Which bytes an audit
 * record contributes is the caller's choice (the audit writer's), not this module's.
 *
 * Storage layout: a node is the hash of the perfect subtree at `level` (0 = leaves) and `index`, covering leaves
 * [index * 2^level, (index + 1) * 2^level). appendLeaves returns each node the moment it becomes complete, so
 * stored nodes are write-once; the tree's incomplete right edge is never stored but folded from its perfect
 * parts when a root or proof needs it. The Frontier (one hash per set bit of the size) is the only state an
 * appender keeps. A proof reads O(log n) stored nodes in one ReadNodes call.
 */
export { type Checkpoint, checkpointBody, parseCheckpointBody } from './checkpoint.ts';
export { CheckpointError, MerkleError, type MerkleErrorCode, NoteError, type NoteErrorCode } from './errors.ts';
export { appendLeaves, EMPTY_FRONTIER, type Frontier, frontierFromJson, frontierRoot, frontierToJson, type TreeNode } from './frontier.ts';
export { EMPTY_ROOT, equalHashes, HASH_BYTES, leafHash, nodeHash } from './hash.ts';
export { type NodeId, perfectSubtrees } from './layout.ts';
export { ed25519NoteKeys, type NoteSigner, type NoteVerifier, noteVerifierFromKey, openNote, signNote } from './note.ts';
export { consistencyProof, consistencyProofNodes, inclusionProof, inclusionProofNodes, type ReadNodes, rootAt } from './proofs.ts';
export { verifyConsistency, verifyInclusion } from './verify.ts';
