import type { BatchEncoder, CKKSEncoder, Ciphertext, Plaintext } from 'node-seal';
import { type CiphertextEnvelope, encodeEnvelope } from './envelope.ts';
import { HeInputError, HeKeyMismatchError } from './errors.ts';
import { BFV_MAX_SAFE_TOTAL, CKKS_SCALE, hasShape } from './params.ts';
import { type PublicMaterial, assertPublicMaterial } from './public-material.ts';
import { assertSealPayload } from './seal-bytes.ts';
import { HandleScope, computing, loadingInput } from './seal.ts';

export type PlainValues = readonly bigint[] | readonly number[] | BigInt64Array | Float64Array;

/** BFV slots as signed integers; refuses what the plain modulus cannot hold exactly. */
function bfvSlots(values: PlainValues, slotCount: number): BigInt64Array {
  const slots = new BigInt64Array(slotCount);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new HeInputError(`BFV encrypts integers only; value ${i} is ${value}`);
    const integer = BigInt(value);
    if (integer > BFV_MAX_SAFE_TOTAL || integer < -BFV_MAX_SAFE_TOTAL)
      throw new HeInputError(`value ${i} (${integer}) is outside the BFV range ±${BFV_MAX_SAFE_TOTAL}`);
    slots[i] = integer;
  }
  return slots;
}

function ckksSlots(values: PlainValues, slotCount: number): Float64Array {
  const slots = new Float64Array(slotCount);
  for (let i = 0; i < values.length; i++) {
    const value = Number(values[i]);
    if (!Number.isFinite(value)) throw new HeInputError(`CKKS encrypts finite reals only; value ${i} is ${values[i]}`);
    slots[i] = value;
  }
  return slots;
}

/** Validates plain values and lays them out as slots (unused slots 0). */
export function toSlots(material: PublicMaterial, values: PlainValues): BigInt64Array | Float64Array {
  if (values.length > material.slotCount) throw new HeInputError(`a batch holds at most ${material.slotCount} values, got ${values.length}`);
  return material.scheme === 'bfv' ? bfvSlots(values, material.slotCount) : ckksSlots(values, material.slotCount);
}

/** Encodes already laid-out slots into a plaintext (added to `scope`). */
export function encodeSlots(material: PublicMaterial, slots: BigInt64Array | Float64Array, scope: HandleScope, scale = CKKS_SCALE): Plaintext {
  const plaintext = scope.add(new material.params.seal.Plaintext());
  computing('encoding', () => {
    if (material.scheme === 'bfv') (material.encoder as BatchEncoder).encode(slots, plaintext);
    else (material.encoder as CKKSEncoder).encode(slots, scale, plaintext);
  });
  return plaintext;
}

/** Encrypts plain values into a fresh ciphertext (added to `scope`). */
export function encryptSlots(material: PublicMaterial, values: PlainValues, scope: HandleScope): Ciphertext {
  const plaintext = encodeSlots(material, toSlots(material, values), scope);
  const ciphertext = scope.add(new material.params.seal.Ciphertext());
  computing('encryption', () => material.encryptor.encrypt(plaintext, ciphertext));
  return ciphertext;
}

/** Labels a ciphertext with the material's parameters and key, serialized uncompressed. */
export function envelopeOf(material: PublicMaterial, ciphertext: Ciphertext, count?: number): CiphertextEnvelope {
  const bytes = computing('serialisation', () => ciphertext.saveToArray(material.params.seal.ComprModeType.none) as Uint8Array);
  const envelope: CiphertextEnvelope = { paramsId: material.paramsId, keyFingerprint: material.fingerprint, ciphertext: bytes };
  if (count !== undefined) envelope.count = count;
  return envelope;
}

/**
 * Encrypts up to `slotCount` values (8192 for BFV, 4096 for CKKS) with the public key into one
 * ciphertext, as envelope bytes for the encrypted column store. Slot i holds values[i].
 */
export function encryptBatch(material: PublicMaterial, values: PlainValues): Uint8Array {
  assertPublicMaterial(material);
  using scope = new HandleScope();
  return encodeEnvelope(envelopeOf(material, encryptSlots(material, values, scope), undefined));
}

/** Checks an envelope belongs to this material's parameters and key pair. */
export function assertSameKey(material: PublicMaterial, envelope: CiphertextEnvelope, what: string): void {
  if (envelope.paramsId !== material.paramsId) {
    throw new HeKeyMismatchError(`${what} was made under parameters ${envelope.paramsId}, expected ${material.paramsId}`);
  }
  if (envelope.keyFingerprint !== material.fingerprint) {
    throw new HeKeyMismatchError(`${what} was encrypted under key ${envelope.keyFingerprint.slice(0, 16)}…, expected ${material.fingerprint.slice(0, 16)}…`);
  }
}

/**
 * Decodes, checks and loads a ciphertext of this key (added to `scope`): a stored batch (`fresh`)
 * or a broker result (`result`).
 */
export function loadCiphertext(
  material: PublicMaterial,
  envelope: CiphertextEnvelope,
  shape: 'fresh' | 'result',
  scope: HandleScope,
  what: string,
): Ciphertext {
  assertSameKey(material, envelope, what);
  assertSealPayload(envelope.ciphertext, material.params.maxCiphertextBytes, what);
  const { seal, context } = material.params;
  const ciphertext = scope.add(new seal.Ciphertext());
  loadingInput(what, () => ciphertext.loadFromArray(context, envelope.ciphertext));
  if (!hasShape(material.params, ciphertext, shape)) {
    throw new HeInputError(`${what} is not ${shape === 'fresh' ? 'a freshly encrypted batch' : 'an aggregate result'} (wrong size, level or scale)`);
  }
  return ciphertext;
}
