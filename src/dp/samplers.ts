/**
 * Exact samplers on the integers, after Canonne, Kamath & Steinke, "The Discrete Gaussian for
 * Differential Privacy" (NeurIPS 2020, arXiv:2004.00010), Algorithms 1–3.
 *
 * Every random bit comes from one place, `node:crypto` (`randomFillSync` into a pool), and every
 * decision is an exact comparison of integers: no floating point touches a sample, so there is no
 * floating-point inverse CDF and none of the holes in its support that Mironov (CCS 2012) exploited.
 * Parameters are rationals (BigInt pairs); distributions are defined by
 *   discrete Laplace, scale b:   P[Y = y] ∝ exp(-|y| / b)
 *   discrete Gaussian, σ²:       P[Y = y] ∝ exp(-y² / (2σ²))
 */
import { randomFillSync } from 'node:crypto';
import { PrivacyParameterError, floorOf, type Rational } from './rational.ts';

const POOL_BYTES = 1 << 14;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function nextUint32(): number {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const word = pool.readUInt32LE(poolOffset);
  poolOffset += 4;
  return word;
}

let bitWord = 0;
let bitsLeft = 0;

function nextBit(): boolean {
  if (bitsLeft === 0) {
    bitWord = nextUint32();
    bitsLeft = 32;
  }
  const bit = bitWord & 1;
  bitWord >>>= 1;
  bitsLeft -= 1;
  return bit === 1;
}

const TWO_32 = 2 ** 32;
const TWO_53 = 2n ** 53n;

/** Uniform on {0, …, n-1} for 0 < n ≤ 2^53, by rejection so every value is exactly equally likely. */
function uniformBelowSafe(n: number): number {
  if (n <= TWO_32) {
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const word = nextUint32();
      if (word < limit) return word % n;
    }
  }
  const highWord = Math.floor((n - 1) / TWO_32);
  const highRange = 2 ** (32 - Math.clz32(highWord));
  for (;;) {
    const candidate = (nextUint32() % highRange) * TWO_32 + nextUint32();
    if (candidate < n) return candidate;
  }
}

/** Uniform on {0, …, n-1} for any bigint n > 0. */
export function uniformBelow(n: bigint): bigint {
  if (n <= 0n) throw new PrivacyParameterError(`uniformBelow needs n > 0, got ${n}`);
  if (n <= TWO_53) return BigInt(uniformBelowSafe(Number(n)));
  const bits = (n - 1n).toString(2).length;
  const words = Math.ceil(bits / 32);
  const topMask = BigInt(2 ** (bits - 32 * (words - 1)) - 1);
  for (;;) {
    let candidate = BigInt(nextUint32()) & topMask;
    for (let i = 1; i < words; i++) candidate = (candidate << 32n) | BigInt(nextUint32());
    if (candidate < n) return candidate;
  }
}

function bernoulliRatio(num: bigint, den: bigint): boolean {
  return uniformBelow(den) < num;
}

/**
 * Bernoulli(exp(-1)), Algorithm 1 with γ = 1: count K while Bernoulli(1/K) succeeds; K odd wins.
 * Bernoulli(1/1) always succeeds, so counting starts at 2.
 */
function bernoulliExpMinusOne(): boolean {
  let k = 2;
  while (uniformBelowSafe(k) === 0) k += 1;
  return k % 2 === 1;
}

/**
 * Bernoulli(exp(-num/den)), num ≥ 0, den > 0: CKS Algorithm 1. For γ ≤ 1, with A_k ~ Bernoulli(γ/k),
 * P[first failure at an odd k] = Σ (-γ)^j / j! = exp(-γ). For γ > 1, exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ-⌊γ⌋)).
 */
function bernoulliExp(num: bigint, den: bigint): boolean {
  if (num > den) {
    const whole = num / den;
    for (let i = 0n; i < whole; i++) if (!bernoulliExpMinusOne()) return false;
    return bernoulliExp(num - whole * den, den);
  }
  if (num === 0n) return true;
  let k = 1n;
  while (bernoulliRatio(num, den * k)) k += 1n;
  return k % 2n === 1n;
}

/**
 * Discrete Laplace with scale t/s (t, s > 0 integers): CKS Algorithm 2. U + t·V is geometric with
 * ratio exp(-1/t) (U uniform below t, accepted with exp(-U/t); V geometric with ratio exp(-1)),
 * dividing by s gives ratio exp(-s/t), and a random sign with "-0" rejected makes it two-sided.
 */
function discreteLaplace(t: bigint, s: bigint): bigint {
  for (;;) {
    const u = uniformBelow(t);
    if (!bernoulliExp(u, t)) continue;
    let v = 0n;
    while (bernoulliExpMinusOne()) v += 1n;
    const magnitude = (u + t * v) / s;
    const negative = nextBit();
    if (negative && magnitude === 0n) continue;
    return negative ? -magnitude : magnitude;
  }
}

/**
 * ⌊√n⌋ by Newton's method on integers from 2^⌈bits/2⌉ ≥ √n: the iterates fall monotonically to ⌊√n⌋ in
 * O(log bits) steps. (A float starting guess is off by up to 2^-53·√n, which past 2^106 is more units than
 * a unit-step correction can walk in any time.)
 */
function integerSqrtFloor(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const next = (x + n / x) / 2n;
    if (next >= x) return x;
    x = next;
  }
}

export function sampleBernoulli(p: Rational): boolean {
  if (p.num < 0n || p.num > p.den) throw new PrivacyParameterError(`Bernoulli needs 0 ≤ p ≤ 1, got ${p.num}/${p.den}`);
  return bernoulliRatio(p.num, p.den);
}

/** Bernoulli(exp(-γ)) for rational γ ≥ 0. */
export function sampleBernoulliExp(gamma: Rational): boolean {
  if (gamma.num < 0n) throw new PrivacyParameterError(`Bernoulli(exp(-γ)) needs γ ≥ 0, got ${gamma.num}/${gamma.den}`);
  return bernoulliExp(gamma.num, gamma.den);
}

/** A sampler of the discrete Laplace distribution with the given scale b > 0: P[y] ∝ exp(-|y|/b). */
export function makeDiscreteLaplaceSampler(scale: Rational): () => bigint {
  if (scale.num <= 0n) throw new PrivacyParameterError(`discrete Laplace needs a scale > 0, got ${scale.num}/${scale.den}`);
  const { num: t, den: s } = scale;
  return () => discreteLaplace(t, s);
}

/**
 * A sampler of the discrete Gaussian with variance parameter σ² = n/d > 0: CKS Algorithm 3. Propose
 * Y from the discrete Laplace with integer scale t = ⌊σ⌋ + 1 and accept with probability
 * exp(-(|Y| - σ²/t)² / (2σ²)) = exp(-(|Y|·d·t - n)² / (2·n·d·t²)), all in integers.
 */
export function makeDiscreteGaussianSampler(sigma2: Rational): () => bigint {
  if (sigma2.num <= 0n) throw new PrivacyParameterError(`discrete Gaussian needs σ² > 0, got ${sigma2.num}/${sigma2.den}`);
  const { num: n, den: d } = sigma2;
  const t = integerSqrtFloor(floorOf(sigma2)) + 1n;
  const dt = d * t;
  const acceptDen = 2n * n * d * t * t;
  return () => {
    for (;;) {
      const y = discreteLaplace(t, 1n);
      const offset = (y < 0n ? -y : y) * dt - n;
      if (bernoulliExp(offset * offset, acceptDen)) return y;
    }
  };
}
