import type { Ciphertext, Evaluator } from 'node-seal';
import { assertSameKey, encodeSlots, encryptSlots, envelopeOf, loadCiphertext } from './batches.ts';
import { type CiphertextEnvelope, decodeEnvelope } from './envelope.ts';
import { HeInputError } from './errors.ts';
import { BFV_MAX_SAFE_TOTAL } from './params.ts';
import { type PublicMaterial, assertPublicMaterial } from './public-material.ts';
import { HandleScope, computing } from './seal.ts';

/** One stored batch and what to do with each of its slots. */
export interface BatchInput {
  /** Envelope bytes from `encryptBatch` / the encrypted column store. */
  ciphertext: Uint8Array;
  /** Rows the batch holds (its row ids' length); needed for a mean without mask. */
  rowCount?: number;
  /** Public 0/1 filter per slot; slots past its end count as 0. Absent: every slot. */
  mask?: ArrayLike<number | boolean>;
  /** Plain weight per slot (integers for BFV); slots past its end count as 0. */
  weights?: ArrayLike<bigint | number>;
}

type Multiplier = { kind: 'skip' } | { kind: 'all' } | { kind: 'slots'; slots: BigInt64Array | Float64Array };

function maskBit(mask: ArrayLike<number | boolean>, i: number): 0 | 1 {
  const bit = mask[i];
  if (bit === 1 || bit === true) return 1;
  if (bit === 0 || bit === false) return 0;
  throw new HeInputError(`mask entries must be 0/1 or booleans; entry ${i} is ${String(bit)}`);
}

function weightSlot(weight: bigint | number, i: number, integers: boolean): bigint | number {
  if (integers) {
    if (typeof weight === 'number' && !Number.isSafeInteger(weight)) throw new HeInputError(`weight ${i} (${weight}) is not an integer`);
    const integer = BigInt(weight);
    if (integer > BFV_MAX_SAFE_TOTAL || integer < -BFV_MAX_SAFE_TOTAL) throw new HeInputError(`weight ${i} (${integer}) is outside the BFV range`);
    return integer;
  }
  const real = Number(weight);
  if (!Number.isFinite(real)) throw new HeInputError(`weight ${i} (${String(weight)}) is not a finite number`);
  return real;
}

/**
 * Folds mask and weights into one plaintext multiplier, so a filtered weighted sum costs one
 * multiplication (each one spends ~45 bits of BFV noise budget). An all-zero multiplier means the batch
 * is skipped: SEAL refuses to produce the transparent ciphertext multiplying by zero would give.
 */
function multiplierOf(batch: BatchInput, slotCount: number, integers: boolean): Multiplier {
  const { mask, weights } = batch;
  for (const [name, vector] of [
    ['mask', mask],
    ['weights', weights],
  ] as const) {
    if (vector !== undefined && vector.length > slotCount) throw new HeInputError(`a batch ${name} has at most ${slotCount} entries, got ${vector.length}`);
  }
  if (mask === undefined && weights === undefined) return { kind: 'all' };
  const length = Math.min(mask?.length ?? slotCount, weights?.length ?? slotCount);
  const slots = integers ? new BigInt64Array(slotCount) : new Float64Array(slotCount);
  let anyNonZero = false;
  let allOnes = length === slotCount || (batch.rowCount !== undefined && length >= batch.rowCount);
  for (let i = 0; i < length; i++) {
    if (mask !== undefined && maskBit(mask, i) === 0) {
      allOnes = false;
      continue;
    }
    const value = weights === undefined ? (integers ? 1n : 1) : weightSlot(weights[i]!, i, integers);
    slots[i] = value as never;
    // Loose comparison on purpose: value is a bigint (BFV) or a number (CKKS).
    // biome-ignore lint/suspicious/noDoubleEquals: 0n == 0 and 0 == 0 alike
    if (value != 0) anyNonZero = true;
    // biome-ignore lint/suspicious/noDoubleEquals: 1n == 1 and 1 == 1 alike
    if (value != 1) allOnes = false;
  }
  if (!anyNonZero) return { kind: 'skip' };
  if (allOnes) return { kind: 'all' };
  return { kind: 'slots', slots };
}

function rowsSelected(batch: BatchInput): number {
  if (batch.weights !== undefined) throw new HeInputError('a mean takes a mask, not weights');
  if (batch.mask === undefined) {
    if (batch.rowCount === undefined) throw new HeInputError('a mean over an unmasked batch needs its rowCount');
    return batch.rowCount;
  }
  const rows = Math.min(batch.rowCount ?? batch.mask.length, batch.mask.length);
  let count = 0;
  for (let i = 0; i < rows; i++) count += maskBit(batch.mask, i);
  return count;
}

/** Adds `ciphertext` into the accumulator `into`, or makes it the accumulator (sharing the SEAL object). */
function accumulate(evaluator: Evaluator, into: Ciphertext | undefined, ciphertext: Ciphertext, outer: HandleScope): Ciphertext {
  if (into === undefined) return outer.add(ciphertext.clone());
  evaluator.addInplace(into, ciphertext);
  return into;
}

/**
 * Sums batches whose multiplier is the identity as they are, and multiplied ones in a second
 * accumulator: BFV multiplies in NTT form (half the cost of SEAL's plain multiply) and leaves NTT form
 * once at the end; CKKS encodes multipliers at the scale of the prime its single rescale drops,
 * so the result comes back at exactly 2^40.
 */
class Accumulator {
  readonly #material: PublicMaterial;
  readonly #outer: HandleScope;
  #plain: Ciphertext | undefined;
  #multiplied: Ciphertext | undefined;

  constructor(material: PublicMaterial, outer: HandleScope) {
    this.#material = material;
    this.#outer = outer;
  }

  add(ciphertext: Ciphertext, multiplier: Multiplier, scope: HandleScope): void {
    const { evaluator, params } = this.#material;
    if (multiplier.kind === 'all') {
      this.#plain = accumulate(evaluator, this.#plain, ciphertext, this.#outer);
      return;
    }
    if (multiplier.kind === 'skip') return;
    if (params.scheme === 'bfv') {
      const plaintext = encodeSlots(this.#material, multiplier.slots, scope);
      evaluator.plainTransformToNttInplace(plaintext, params.firstParmsId);
      evaluator.cipherTransformToNttInplace(ciphertext);
      evaluator.multiplyPlainInplace(ciphertext, plaintext);
    } else {
      evaluator.multiplyPlainInplace(ciphertext, encodeSlots(this.#material, multiplier.slots, scope, params.rescalePrime));
    }
    this.#multiplied = accumulate(evaluator, this.#multiplied, ciphertext, this.#outer);
  }

  /** The sum of everything added, at the result level; a fresh encryption of 0 when nothing was. */
  finish(): Ciphertext {
    const material = this.#material;
    const { evaluator, params } = material;
    if (params.scheme === 'bfv') {
      if (this.#multiplied) evaluator.cipherTransformFromNttInplace(this.#multiplied);
    } else if (this.#plain) {
      using scope = new HandleScope();
      const ones = encodeSlots(material, new Float64Array(material.slotCount).fill(1), scope, params.rescalePrime);
      evaluator.multiplyPlainInplace(this.#plain, ones);
      this.#multiplied = accumulate(evaluator, this.#multiplied, this.#plain, this.#outer);
      this.#plain = undefined;
    }
    const sum = this.#plain && this.#multiplied ? accumulate(evaluator, this.#plain, this.#multiplied, this.#outer) : (this.#plain ?? this.#multiplied);
    if (sum === undefined) {
      const zero = encryptSlots(material, [], this.#outer);
      evaluator.cipherModSwitchToInplace(zero, params.resultParmsId);
      return zero;
    }
    if (params.scheme === 'ckks') {
      evaluator.rescaleToNextInplace(sum);
      return sum;
    }
    return sum;
  }
}

/** Adds every slot into every slot with log2(N/2) power-of-two rotations (plus BFV's row swap). */
function rotateAndSum(material: PublicMaterial, ciphertext: Ciphertext, scope: HandleScope): void {
  const { evaluator, galoisKeys, params } = material;
  const rotated = scope.add(new params.seal.Ciphertext());
  for (let step = 1; step < params.slotCount / (params.scheme === 'bfv' ? 2 : 1); step *= 2) {
    if (params.scheme === 'bfv') evaluator.rotateRows(ciphertext, step, galoisKeys, rotated);
    else evaluator.rotateVector(ciphertext, step, galoisKeys, rotated);
    evaluator.addInplace(ciphertext, rotated);
  }
  if (params.scheme === 'bfv') {
    evaluator.rotateColumns(ciphertext, galoisKeys, rotated);
    evaluator.addInplace(ciphertext, rotated);
  }
}

async function aggregate(material: PublicMaterial, batches: Iterable<BatchInput> | AsyncIterable<BatchInput>, withCount: boolean): Promise<CiphertextEnvelope> {
  assertPublicMaterial(material);
  using outer = new HandleScope();
  const accumulator = new Accumulator(material, outer);
  let count = 0;
  let index = 0;
  for await (const batch of batches) {
    const what = `batch ${index++}`;
    if (withCount) count += rowsSelected(batch);
    const multiplier = multiplierOf(batch, material.slotCount, material.scheme === 'bfv');
    if (multiplier.kind === 'skip') continue;
    using scope = new HandleScope();
    const ciphertext = loadCiphertext(material, decodeEnvelope(batch.ciphertext), 'fresh', scope, what);
    computing('masked addition', () => accumulator.add(ciphertext, multiplier, scope));
  }
  const total = computing('the final sum', () => accumulator.finish());
  computing('rotate-and-sum', () => rotateAndSum(material, total, outer));
  if (material.scheme === 'bfv') computing('modulus switching', () => material.evaluator.cipherModSwitchToInplace(total, material.params.resultParmsId));
  return envelopeOf(material, total, withCount ? count : undefined);
}

/**
 * Σ mask[i] · weight[i] · value[i] over all batches, encrypted. Every slot of the result holds the
 * total (never per-batch or per-row partial sums). BFV totals are exact while within
 * ±BFV_MAX_SAFE_TOTAL: check with `assertNoOverflow` first.
 */
export function encryptedSum(material: PublicMaterial, batches: Iterable<BatchInput> | AsyncIterable<BatchInput>): Promise<CiphertextEnvelope> {
  return aggregate(material, batches, false);
}

/**
 * The encrypted masked sum together with the (public) number of rows the masks select: the key
 * holder's `decryptResult` divides. Count needs no encryption because masks are public.
 */
export function encryptedMean(material: PublicMaterial, batches: Iterable<BatchInput> | AsyncIterable<BatchInput>): Promise<CiphertextEnvelope> {
  return aggregate(material, batches, true);
}

/**
 * Adds `noise` (e.g. a DP sample drawn by the broker) to every slot of an encrypted result, so the
 * key holder only ever sees total + noise. Integers for BFV.
 */
export function addEncryptedNoise(material: PublicMaterial, result: CiphertextEnvelope, noise: bigint | number): CiphertextEnvelope {
  assertPublicMaterial(material);
  assertSameKey(material, result, 'encrypted result');
  using scope = new HandleScope();
  const total = loadCiphertext(material, result, 'result', scope, 'encrypted result');
  if (material.scheme === 'bfv' ? typeof noise === 'number' && !Number.isSafeInteger(noise) : !Number.isFinite(Number(noise))) {
    throw new HeInputError(`noise must be ${material.scheme === 'bfv' ? 'an integer' : 'a finite number'}, got ${noise}`);
  }
  // Every slot, not just slot 0: rotate-and-sum left the exact total in all of them.
  const noiseSlots =
    material.scheme === 'bfv' ? new Array<bigint>(material.slotCount).fill(BigInt(noise)) : new Float64Array(material.slotCount).fill(Number(noise));
  const encryptedNoise = encryptSlots(material, noiseSlots, scope);
  computing('noise addition', () => {
    material.evaluator.cipherModSwitchToInplace(encryptedNoise, material.params.resultParmsId);
    material.evaluator.addInplace(total, encryptedNoise);
  });
  return envelopeOf(material, total, result.count);
}
