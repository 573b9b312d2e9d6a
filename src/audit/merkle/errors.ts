/** An error with a stable code of the union `Code`, named after its class: what callers and the CLI tell apart. */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export type MerkleErrorCode = 'MERKLE_BAD_SIZE' | 'MERKLE_BAD_FRONTIER' | 'MERKLE_NODE_MISSING' | 'MERKLE_BAD_HASH';

/** A tree size, frontier or stored node that cannot describe a valid tree: nothing is computed from it. */
export class MerkleError extends CodedError<MerkleErrorCode> {}

/** A checkpoint body that is not C2SP tlog-checkpoint text. */
export class CheckpointError extends CodedError<'CHECKPOINT_MALFORMED'> {
  constructor(message: string) {
    super('CHECKPOINT_MALFORMED', message);
  }
}

export type NoteErrorCode = 'NOTE_MALFORMED' | 'NOTE_UNVERIFIED' | 'NOTE_BAD_SIGNATURE' | 'NOTE_BAD_KEY';

/** A signed note, or a key to sign or verify one, that is refused; the message says which rule it broke. */
export class NoteError extends CodedError<NoteErrorCode> {}
