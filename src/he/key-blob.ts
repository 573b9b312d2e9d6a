import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from './binary.ts';
import { HeInputError, HeKeyMismatchError, HeSecretKeyRefusedError } from './errors.ts';

const MAGIC = 'KHK1';

/** The four key files of a key pair; the kind is written into each so a renamed file is still recognised. */
export type KeyKind = 'secret' | 'public' | 'relin' | 'galois';

const KIND_CODES: Record<KeyKind, number> = { secret: 1, public: 2, relin: 3, galois: 4 };

export interface KeyBlob {
  kind: KeyKind;
  paramsId: string;
  /** SEAL serialization of the key. */
  payload: Uint8Array;
}

export function encodeKeyBlob(blob: KeyBlob): Uint8Array {
  return new ByteWriter()
    .ascii(MAGIC)
    .u8(KIND_CODES[blob.kind])
    .shortString(blob.paramsId)
    .bytes(createHash('sha256').update(blob.payload).digest())
    .bytes(blob.payload)
    .finish();
}

export function decodeKeyBlob(bytes: Uint8Array, what: string): KeyBlob {
  if (!(bytes instanceof Uint8Array)) throw new HeInputError(`${what} must be bytes`);
  const reader = new ByteReader(bytes, what);
  if (reader.ascii(4) !== MAGIC) throw new HeInputError(`${what} is not a Keyhole key file (bad magic)`);
  const code = reader.u8();
  const kind = (Object.keys(KIND_CODES) as KeyKind[]).find((name) => KIND_CODES[name] === code);
  if (!kind) throw new HeInputError(`${what} has unknown key kind ${code}`);
  const paramsId = reader.shortString();
  const expectedDigest = reader.bytes(32);
  const payload = reader.bytes(reader.remaining);
  if (!createHash('sha256').update(payload).digest().equals(expectedDigest)) throw new HeInputError(`${what} is corrupted (digest mismatch)`);
  return { kind, paramsId, payload };
}

/**
 * Decodes a key file that must be of `kind` and parameter set `paramsId`. A secret key is refused
 * with its own error whenever anything else was expected, so the broker can never be handed one.
 */
export function expectKeyBlob(bytes: Uint8Array, kind: KeyKind, paramsId: string, what: string): Uint8Array {
  const blob = decodeKeyBlob(bytes, what);
  if (blob.kind === 'secret' && kind !== 'secret') throw new HeSecretKeyRefusedError(`${what} is a secret key; only public keys may be given here`);
  if (blob.kind !== kind) throw new HeInputError(`${what} is a ${blob.kind} key, expected a ${kind} key`);
  if (blob.paramsId !== paramsId) throw new HeKeyMismatchError(`${what} was made for parameters ${blob.paramsId}, expected ${paramsId}`);
  return blob.payload;
}

/** A key pair's identity: hex SHA-256 of its public key file, as written. */
export function keyFingerprint(publicKeyFile: Uint8Array): string {
  return createHash('sha256').update(publicKeyFile).digest('hex');
}
