export type MerkleErrorCode = 'MERKLE_BAD_SIZE' | 'MERKLE_BAD_FRONTIER' | 'MERKLE_NODE_MISSING' | 'MERKLE_BAD_HASH';

/** A tree size, frontier or stored node that cannot describe a valid tree: nothing is computed from it. */
export class MerkleError extends Error {
  readonly code: MerkleErrorCode;
  constructor(code: MerkleErrorCode, message: string) {
    super(message);
    this.name = 'MerkleError';
    this.code = code;
  }
}

/** A checkpoint body that is not C2SP tlog-checkpoint text. */
export class CheckpointError extends Error {
  readonly code = 'CHECKPOINT_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export type NoteErrorCode = 'NOTE_MALFORMED' | 'NOTE_UNVERIFIED' | 'NOTE_BAD_SIGNATURE' | 'NOTE_BAD_KEY';

/** A signed note, or a key to sign or verify one, that is refused; the message says which rule it broke. */
export class NoteError extends Error {
  readonly code: NoteErrorCode;
  constructor(code: NoteErrorCode, message: string) {
    super(message);
    this.name = 'NoteError';
    this.code = code;
  }
}
