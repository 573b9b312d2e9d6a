/** Base class of every error the HE layer throws, so callers can map them to one refusal code. */
export class HeError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes (ciphertext, key, envelope) that are malformed, truncated, tampered with or of the wrong kind. */
export class HeInputError extends HeError {}

/** A ciphertext or key made under other parameters or another key pair than the one expected. */
export class HeKeyMismatchError extends HeError {}

/** A secret key offered where only public material may go (the broker never reads a secret key). */
export class HeSecretKeyRefusedError extends HeError {}

/** An exact BFV result that could wrap around the plain modulus. */
export class HeOverflowError extends HeError {}

/** SEAL failed on input we had already validated: a bug or a resource limit, never the caller's data. */
export class HeInternalError extends HeError {}
