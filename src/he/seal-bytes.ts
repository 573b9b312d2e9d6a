import { HeInputError } from './errors.ts';

const SEAL_MAGIC = 0xa15e;
const SEAL_HEADER_SIZE = 16;
const SEAL_MAJOR_VERSION = 4;
const COMPRESSION_NONE = 0;

/**
 * Checks SEAL's own 16-byte serialization header before SEAL parses anything: magic, version,
 * no compression (we never write compressed data, and refusing it rules out decompression bombs),
 * and a declared size equal to the bytes present and below `maxBytes`.
 */
export function assertSealPayload(bytes: Uint8Array, maxBytes: number, what: string): void {
  if (bytes.length < SEAL_HEADER_SIZE) throw new HeInputError(`${what} is too short to be SEAL data (${bytes.length} bytes)`);
  if (bytes.length > maxBytes) throw new HeInputError(`${what} is ${bytes.length} bytes, larger than any valid one (${maxBytes})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0, true) !== SEAL_MAGIC || view.getUint8(2) !== SEAL_HEADER_SIZE) throw new HeInputError(`${what} is not SEAL data (bad header)`);
  if (view.getUint8(3) !== SEAL_MAJOR_VERSION) throw new HeInputError(`${what} was written by SEAL ${view.getUint8(3)}.x, expected ${SEAL_MAJOR_VERSION}.x`);
  if (view.getUint8(5) !== COMPRESSION_NONE) throw new HeInputError(`${what} is compressed; only uncompressed SEAL data is accepted`);
  const declared = view.getBigUint64(8, true);
  if (declared !== BigInt(bytes.length)) throw new HeInputError(`${what} declares ${declared} bytes but has ${bytes.length}`);
}
