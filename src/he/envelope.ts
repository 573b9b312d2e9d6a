import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from './binary.ts';
import { HeInputError } from './errors.ts';

const MAGIC = 'KHC1';
const FLAG_COUNT = 1;
const FINGERPRINT_BYTES = 32;

/**
 * A SEAL ciphertext labelled with what it belongs to. Stored batches and broker results share this
 * format, so a ciphertext made under other parameters or another key is refused before SEAL reads it.
 * The digest catches corruption and accidental edits; it is not a MAC (HE ciphertexts are malleable by
 * design, and the broker holds no secret to authenticate with).
 */
export interface CiphertextEnvelope {
  paramsId: string;
  /** Hex SHA-256 of the key pair's public key file (see keyholder.ts). */
  keyFingerprint: string;
  /** SEAL serialization of the ciphertext. */
  ciphertext: Uint8Array;
  /** For a mean: how many rows the public mask selected (the key holder divides). */
  count?: number;
}

const HEX_FINGERPRINT = /^[0-9a-f]{64}$/;

export function encodeEnvelope(envelope: CiphertextEnvelope): Uint8Array {
  if (!HEX_FINGERPRINT.test(envelope.keyFingerprint)) throw new HeInputError('key fingerprint must be 64 lowercase hex digits');
  const writer = new ByteWriter()
    .ascii(MAGIC)
    .u8(envelope.count === undefined ? 0 : FLAG_COUNT)
    .bytes(Buffer.from(envelope.keyFingerprint, 'hex'))
    .shortString(envelope.paramsId);
  if (envelope.count !== undefined) {
    if (!Number.isSafeInteger(envelope.count) || envelope.count < 0) throw new HeInputError(`count must be a non-negative integer, got ${envelope.count}`);
    writer.u64(BigInt(envelope.count));
  }
  return writer.bytes(digest(envelope.ciphertext)).u32(envelope.ciphertext.length).bytes(envelope.ciphertext).finish();
}

export function decodeEnvelope(bytes: Uint8Array): CiphertextEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new HeInputError('an encrypted value must be bytes');
  const reader = new ByteReader(bytes, 'encrypted value');
  if (reader.ascii(4) !== MAGIC) throw new HeInputError('not a Keyhole encrypted value (bad magic)');
  const flags = reader.u8();
  if ((flags & ~FLAG_COUNT) !== 0) throw new HeInputError(`encrypted value has unknown flags ${flags}`);
  const keyFingerprint = Buffer.from(reader.bytes(FINGERPRINT_BYTES)).toString('hex');
  const paramsId = reader.shortString();
  const count = flags & FLAG_COUNT ? Number(reader.u64()) : undefined;
  if (count !== undefined && !Number.isSafeInteger(count)) throw new HeInputError('encrypted value has an impossible count');
  const expectedDigest = reader.bytes(32);
  const ciphertext = reader.bytes(reader.u32());
  reader.end();
  if (!Buffer.from(expectedDigest).equals(digest(ciphertext))) {
    throw new HeInputError('encrypted value is corrupted or was modified (digest mismatch)');
  }
  return count === undefined ? { paramsId, keyFingerprint, ciphertext } : { paramsId, keyFingerprint, ciphertext, count };
}

/** The form a broker result travels in to an agent: base64 of the binary envelope. */
export function encodeResultEnvelope(envelope: CiphertextEnvelope): string {
  return Buffer.from(encodeEnvelope(envelope)).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeResultEnvelope(encoded: string): CiphertextEnvelope {
  const trimmed = typeof encoded === 'string' ? encoded.trim() : '';
  if (trimmed.length === 0 || trimmed.length % 4 !== 0 || !BASE64.test(trimmed)) {
    throw new HeInputError('an encrypted result must be a non-empty base64 string');
  }
  return decodeEnvelope(new Uint8Array(Buffer.from(trimmed, 'base64')));
}

function digest(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}
