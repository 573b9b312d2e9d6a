/**
 * The two integer noise distributions: an exact sampler (from samplers.ts) paired with the numbers
 * an answer reports about its error (pmf, variance, mean absolute error, central mass). The numbers
 * are floating point — they describe the noise, they never draw it.
 */
import { PrivacyParameterError, toNumber, type Rational } from './rational.ts';
import { makeDiscreteGaussianSampler, makeDiscreteLaplaceSampler } from './samplers.ts';

export interface IntegerNoise {
  readonly kind: 'discrete-laplace' | 'discrete-gaussian';
  /** b of the discrete Laplace (P[y] ∝ e^{-|y|/b}), σ of the discrete Gaussian (P[y] ∝ e^{-y²/2σ²}). */
  readonly scale: number;
  readonly variance: number;
  readonly meanAbsoluteError: number;
  pmf(y: number): number;
  /** P[|Y| ≤ k]. */
  massWithin(k: number): number;
  /** The smallest integer k ≥ 0 with P[|Y| ≤ k] ≥ confidence. */
  halfWidth(confidence: number): number;
  sample(): bigint;
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new PrivacyParameterError(`confidence must be in (0, 1), got ${confidence}`);
  }
}

/**
 * The smallest integer k ≥ 0 with `holds(k)`, for a predicate that is false below some point and true
 * from it on; `hint` is a guess of that point. Doubling then bisection over doubles, stopping when the
 * midpoint is no longer strictly between the ends: past 2^53 consecutive doubles are more than 1 apart,
 * and a search that steps by +1 there never moves, which is how a tiny ε used to hang the broker.
 */
export function smallestInteger(holds: (k: number) => boolean, hint: number): number {
  let top = Math.max(0, Math.ceil(hint));
  while (!holds(top)) {
    if (top === Number.POSITIVE_INFINITY) throw new PrivacyParameterError('no finite integer satisfies the noise bound');
    top = 2 * top + 1;
  }
  let low = -1;
  for (;;) {
    const middle = Math.floor((low + top) / 2);
    if (middle <= low || middle >= top) return top;
    if (holds(middle)) top = middle;
    else low = middle;
  }
}

/**
 * Largest noise scale (b, or σ) accepted. Every floating-point summary stays finite below it (the variance
 * is about 2b²), and the exact samplers run in time bounded for any scale; a larger scale means an ε or ρ
 * so small (below ~1e-150 per unit of sensitivity) that the answer would be noise alone.
 */
export const MAX_NOISE_SCALE = 1e150;

function checkScale(scale: number): void {
  if (!(scale <= MAX_NOISE_SCALE)) {
    throw new PrivacyParameterError(`noise scale ${scale} exceeds ${MAX_NOISE_SCALE}: epsilon or rho is too small for this sensitivity`);
  }
}

/**
 * Discrete Laplace with a = e^{-1/b}: P[y] = (1-a)/(1+a)·a^|y|, so P[|Y| > k] = 2a^{k+1}/(1+a),
 * Var = 2a/(1-a)², E|Y| = 2a/(1-a²). 1-a is taken as -expm1(-1/b) to stay accurate for large b.
 */
export function discreteLaplaceNoise(scale: Rational): IntegerNoise {
  const b = toNumber(scale);
  checkScale(b);
  const sample = makeDiscreteLaplaceSampler(scale);
  const a = Math.exp(-1 / b);
  const oneMinusA = -Math.expm1(-1 / b);
  const tailBeyond = (k: number) => (2 * Math.exp(-(k + 1) / b)) / (1 + a);
  const massWithin = (k: number) => (k < 0 ? 0 : 1 - tailBeyond(k));
  return {
    kind: 'discrete-laplace',
    scale: b,
    variance: (2 * a) / (oneMinusA * oneMinusA),
    meanAbsoluteError: (2 * a) / (oneMinusA * (1 + a)),
    pmf: (y) => (oneMinusA / (1 + a)) * Math.exp(-Math.abs(y) / b),
    massWithin,
    halfWidth(confidence) {
      checkConfidence(confidence);
      // Closed form from the tail; the search only absorbs floating-point rounding at the boundary.
      const guess = Math.ceil(-b * Math.log(((1 - confidence) * (1 + a)) / 2)) - 1;
      return smallestInteger((k) => massWithin(k) >= confidence, guess);
    },
    sample,
  };
}

/** Beyond this σ the discrete Gaussian's sums are taken in closed form instead of term by term. */
const DIRECT_SUM_MAX_SIGMA = 1000;
/** exp(-x²/2) underflows to 0 past x ≈ 38.6: summing to 39σ takes every representable term. */
const TAIL_SIGMAS = 39;

/** erf by its everywhere-positive series 2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(2n+1)!!, exact to a few ulps for x ≥ 0. */
function erf(x: number): number {
  if (x >= 6) return 1;
  let term = x;
  let sum = x;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/**
 * Discrete Gaussian. For σ ≤ 1000 every quantity is summed term by term (≤ 39σ terms). For larger σ:
 * the normaliser Σ e^{-y²/2σ²} = σ√(2π)·(1 + 2Σ_k e^{-2π²σ²k²}) by Poisson summation, whose
 * correction underflows; the partial sums Σ_{y=1..k} use Euler–Maclaurin to the first derivative
 * (the next term is O(σ^-3)); Var = σ² up to the same vanishing correction; E|Y| = 2(σ² - 1/12)/(σ√(2π)).
 */
export function discreteGaussianNoise(sigma2: Rational): IntegerNoise {
  const variance = toNumber(sigma2);
  const sigma = Math.sqrt(variance);
  checkScale(sigma);
  const sample = makeDiscreteGaussianSampler(sigma2);
  const weight = (y: number) => Math.exp(-(y * y) / (2 * variance));
  const common = { kind: 'discrete-gaussian' as const, scale: sigma, sample };

  if (sigma <= DIRECT_SUM_MAX_SIGMA) {
    const last = Math.ceil(TAIL_SIGMAS * sigma) + 1;
    let normaliser = 1;
    let absoluteMoment = 0;
    let secondMoment = 0;
    for (let y = 1; y <= last; y++) {
      const w = weight(y);
      normaliser += 2 * w;
      absoluteMoment += 2 * y * w;
      secondMoment += 2 * y * y * w;
    }
    const massWithin = (k: number) => {
      let mass = k < 0 ? 0 : 1;
      for (let y = 1; y <= Math.min(k, last); y++) mass += 2 * weight(y);
      return mass / normaliser;
    };
    return {
      ...common,
      variance: secondMoment / normaliser,
      meanAbsoluteError: absoluteMoment / normaliser,
      pmf: (y) => weight(y) / normaliser,
      massWithin,
      halfWidth(confidence) {
        checkConfidence(confidence);
        let mass = 1;
        let k = 0;
        while (mass / normaliser < confidence && k < last) {
          k += 1;
          mass += 2 * weight(k);
        }
        return k;
      },
    };
  }

  const normaliser = sigma * Math.sqrt(2 * Math.PI);
  const slope = (y: number) => (-y * weight(y)) / variance;
  const integral = (from: number, to: number) => sigma * Math.sqrt(Math.PI / 2) * (erf(to / (sigma * Math.SQRT2)) - erf(from / (sigma * Math.SQRT2)));
  const partialSum = (k: number) => (k < 1 ? 0 : integral(1, k) + (weight(1) + weight(k)) / 2 + (slope(k) - slope(1)) / 12);
  const massWithin = (k: number) => (k < 0 ? 0 : Math.min(1, (1 + 2 * partialSum(k)) / normaliser));
  return {
    ...common,
    variance,
    meanAbsoluteError: (2 * (variance - 1 / 12)) / normaliser,
    pmf: (y) => weight(y) / normaliser,
    massWithin,
    halfWidth(confidence) {
      checkConfidence(confidence);
      return smallestInteger((k) => massWithin(k) >= confidence, 2 * sigma);
    },
  };
}
