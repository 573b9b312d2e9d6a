import { createHash } from 'node:crypto';
import { HeInputError, HeInternalError, HeOverflowError } from './errors.ts';
import { HandleScope, getSeal, type Seal } from './seal.ts';
import type { Ciphertext, ParmsIdType, SEALContext } from 'node-seal';

/** `bfv`: exact integers modulo a ~40-bit prime. `ckks`: approximate reals. */
export type HeScheme = 'bfv' | 'ckks';

export const HE_SCHEMES: readonly HeScheme[] = ['bfv', 'ckks'];

export const POLY_MODULUS_DEGREE = 8192;

/**
 * BFV plain modulus t: the largest 40-bit prime ≡ 1 (mod 2N) (`PlainModulus.Batching(8192, 40)`), so
 * every slot is an integer modulo t. Results are read back centred, in (−t/2, t/2).
 */
export const BFV_PLAIN_MODULUS = 1099511480321n;

/**
 * The largest |total| a BFV aggregate can carry exactly: 549 755 740 160 (≈ 5.5 × 10¹¹). Beyond it the
 * sum wraps modulo t silently, so `assertNoOverflow` refuses such a query before it runs.
 */
export const BFV_MAX_SAFE_TOTAL = (BFV_PLAIN_MODULUS - 1n) / 2n;

/** CKKS coefficient modulus bit sizes: a 60-bit first and special prime, two 40-bit primes for one rescale. */
export const CKKS_COEFF_BITS = [60, 40, 40, 60] as const;

/** CKKS encoding scale, 2^40: about 12 decimal digits below the point before noise. */
export const CKKS_SCALE = 2 ** 40;

/**
 * CKKS precision, measured (random reals, half masked, 1–100 batches, |value| up to 1e9): the error of
 * a decrypted sum was at most 5e-7 + 3e-11 · √rows · max|value| (1.2e-3 for 20k values below 1e6), with a 0/1 mask costing most of it
 * (its encoding error multiplies each value); slot errors are independent, so they grow with √rows.
 * `ckksErrorBound` states a bound a hundred times wider.
 */
export const CKKS_RELATIVE_ERROR = 3e-9;
export const CKKS_ABS_ERROR_PER_BATCH = 1e-5;

/** Bound on |decrypted − exact| for a CKKS sum over `rows` values each |v| ≤ maxAbsValue (and |weight| ≤ 1). */
export function ckksErrorBound(maxAbsValue: number, rows: number): number {
  const batches = Math.max(1, Math.ceil(rows / (POLY_MODULUS_DEGREE / 2)));
  return CKKS_RELATIVE_ERROR * Math.abs(maxAbsValue) * Math.sqrt(rows) + CKKS_ABS_ERROR_PER_BATCH * batches;
}

/**
 * |total| must stay below 2^59 for CKKS: the result lives modulo a 100-bit modulus at scale 2^40.
 * Keep a margin of 2^9 for noise and rounding.
 */
export const CKKS_MAX_ABS_TOTAL = 2 ** 50;

/**
 * Chain index (number of primes − 1) a BFV result is switched down to before it leaves the broker:
 * 2 primes (262 KB instead of 524 KB). One prime would leave no noise budget (measured 0 bits,
 * wrong answers); with 2 primes the key holder measured 38 bits left after mask, sum and rotations.
 */
export const BFV_RESULT_CHAIN_INDEX = 1;

/** Rotation steps needing Galois keys: powers of two for rotate-and-sum, plus 0 = BFV's row swap. */
export function galoisSteps(scheme: HeScheme): Int32Array {
  const steps: number[] = scheme === 'bfv' ? [0] : [];
  for (let step = 1; step < POLY_MODULUS_DEGREE / 2; step *= 2) steps.push(step);
  return Int32Array.from(steps);
}

/** A SEAL context for one parameter set, made once per process and never freed. */
export interface HeParams {
  readonly scheme: HeScheme;
  /** Stable across processes and machines: scheme, degree and a hash of SEAL's serialized parameters. */
  readonly paramsId: string;
  readonly seal: Seal;
  readonly context: SEALContext;
  readonly slotCount: number;
  /** Number of primes of a fresh ciphertext. */
  readonly freshPrimes: number;
  readonly firstParmsId: ParmsIdType;
  /** Where results are switched down to before serialising (BFV) or already are after rescale (CKKS). */
  readonly resultParmsId: ParmsIdType;
  readonly resultPrimes: number;
  /** CKKS: the prime the single rescale drops; masks are encoded at this scale so results stay at 2^40. */
  readonly rescalePrime: number;
  /** Serialized sizes that any valid ciphertext or key of these parameters stays below. */
  readonly maxCiphertextBytes: number;
  readonly maxKeyBytes: number;
}

const cache = new Map<HeScheme, Promise<HeParams>>();

export function getParams(scheme: HeScheme): Promise<HeParams> {
  if (!HE_SCHEMES.includes(scheme)) throw new HeInputError(`unknown HE scheme ${JSON.stringify(scheme)} (expected bfv or ckks)`);
  let params = cache.get(scheme);
  if (!params) {
    params = getSeal().then((seal) => buildParams(seal, scheme));
    cache.set(scheme, params);
  }
  return params;
}

function buildParams(seal: Seal, scheme: HeScheme): HeParams {
  using scope = new HandleScope();
  const parms = scope.add(new seal.EncryptionParameters(scheme === 'bfv' ? seal.SchemeType.bfv : seal.SchemeType.ckks));
  parms.setPolyModulusDegree(POLY_MODULUS_DEGREE);
  if (scheme === 'bfv') {
    parms.setCoeffModulus(scope.add(seal.CoeffModulus.BFVDefault(POLY_MODULUS_DEGREE, seal.SecLevelType.tc128)));
    const plain = scope.add(seal.PlainModulus.Batching(POLY_MODULUS_DEGREE, 40));
    if (plain.value() !== BFV_PLAIN_MODULUS) throw new HeInternalError(`SEAL chose plain modulus ${plain.value()}, expected ${BFV_PLAIN_MODULUS}`);
    parms.setPlainModulus(plain);
  } else {
    parms.setCoeffModulus(scope.add(seal.CoeffModulus.Create(POLY_MODULUS_DEGREE, Int32Array.from(CKKS_COEFF_BITS))));
  }
  const context = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
  if (!context.parametersSet()) throw new HeInternalError(`SEAL rejected the ${scheme} parameters`);
  const digest = createHash('sha256')
    .update(parms.saveToArray(seal.ComprModeType.none) as Uint8Array)
    .digest('hex');

  const first = scope.add(context.firstContextData());
  const firstModuli = seal.jsArrayFromVecModulus(scope.add(first.parms().coeffModulus())) as bigint[];
  const keyPrimes = firstModuli.length + 1;
  const resultChainIndex = scheme === 'bfv' ? BFV_RESULT_CHAIN_INDEX : first.chainIndex() - 1;
  let data = first;
  while (data.chainIndex() !== resultChainIndex) data = scope.add(data.nextContextData());
  const resultParmsId = data.parmsId();
  const slotCount = scheme === 'bfv' ? POLY_MODULUS_DEGREE : POLY_MODULUS_DEGREE / 2;
  return {
    scheme,
    paramsId: `${scheme}-n${POLY_MODULUS_DEGREE}-${digest.slice(0, 16)}`,
    seal,
    context,
    slotCount,
    freshPrimes: firstModuli.length,
    firstParmsId: context.firstParmsId(),
    resultParmsId,
    resultPrimes: resultChainIndex + 1,
    rescalePrime: Number(firstModuli.at(-1)),
    // Two polynomials of N 64-bit words per prime, plus SEAL's header and metadata.
    maxCiphertextBytes: 2 * POLY_MODULUS_DEGREE * 8 * firstModuli.length + 4096,
    // Galois keys dominate: per step, (primes − 1) key-switching pairs over all primes.
    maxKeyBytes: (galoisSteps(scheme).length + 1) * (keyPrimes - 1) * 2 * POLY_MODULUS_DEGREE * 8 * keyPrimes + 65536,
  };
}

/**
 * Whether a loaded ciphertext has the shape the broker expects: a freshly encrypted batch, or a
 * result (switched down, and for CKKS rescaled back to 2^40). Anything else would make SEAL's
 * arithmetic throw mid-way, so it is refused up front.
 */
export function hasShape(params: HeParams, ciphertext: Ciphertext, shape: 'fresh' | 'result'): boolean {
  const primes = shape === 'fresh' ? params.freshPrimes : params.resultPrimes;
  const isCkks = params.scheme === 'ckks';
  return (
    ciphertext.size() === 2 &&
    ciphertext.polyModulusDegree() === POLY_MODULUS_DEGREE &&
    ciphertext.coeffModulusSize() === primes &&
    ciphertext.isNttForm() === isCkks &&
    (!isCkks || ciphertext.scale() === CKKS_SCALE)
  );
}

export interface OverflowBounds {
  /** Largest |value| in the column (its declared bound, or the clamp applied before encryption). */
  maxAbsValue: bigint | number;
  /** Rows that can contribute (the mask's population, or all rows). */
  rows: bigint | number;
  /** Largest |weight| for a weighted sum. */
  weightsMaxAbs?: bigint | number;
  /** Largest |noise| added under encryption. */
  noiseMaxAbs?: bigint | number;
}

function toBigInt(name: string, value: bigint | number): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new HeOverflowError(`${name} must be a safe integer, got ${value}`);
  const result = BigInt(value);
  if (result < 0n) throw new HeOverflowError(`${name} must not be negative, got ${value}`);
  return result;
}

/**
 * Refuses a BFV aggregate whose worst-case total could wrap around the plain modulus:
 * maxAbsValue × weightsMaxAbs × rows + noiseMaxAbs must stay ≤ BFV_MAX_SAFE_TOTAL.
 */
export function assertNoOverflow(bounds: OverflowBounds): void {
  const value = toBigInt('maxAbsValue', bounds.maxAbsValue);
  const rows = toBigInt('rows', bounds.rows);
  const weights = toBigInt('weightsMaxAbs', bounds.weightsMaxAbs ?? 1);
  const noise = toBigInt('noiseMaxAbs', bounds.noiseMaxAbs ?? 0);
  const worst = value * weights * rows + noise;
  if (worst > BFV_MAX_SAFE_TOTAL) {
    throw new HeOverflowError(
      `an encrypted sum of ${rows} rows with |value| ≤ ${value}` +
        (bounds.weightsMaxAbs === undefined ? '' : `, |weight| ≤ ${weights}`) +
        (bounds.noiseMaxAbs === undefined ? '' : `, |noise| ≤ ${noise}`) +
        ` could reach ${worst}, beyond the exact range ±${BFV_MAX_SAFE_TOTAL} of the BFV plain modulus`,
    );
  }
}
