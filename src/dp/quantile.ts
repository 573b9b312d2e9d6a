/**
 * A quantile by the exponential mechanism (McSherry & Talwar 2007) over a histogram with declared
 * bounds: [lower, upper] split into B equal bins; SQL computes the counts, e.g. the 0-based bin of a
 * value x is `least(width_bucket(least(greatest(x, lower), upper), lower, upper, B), B) - 1`.
 *
 * Utility. With n values, r_i values below bin i and r_{i+1} values up to its end, the target rank
 * is q·n and bin i scores u_i = -dist(q·n, [r_i, r_{i+1}]): 0 for the bin that holds the quantile,
 * minus the number of values in between for the others. (Scoring only the rank below a bin,
 * -|r_i - q·n|, cannot tell the bins of a clump apart: with every value in one bin all bins tie.)
 * Adding or removing one value moves r_i, r_{i+1} by at most 1 and q·n by q ≤ 1 in the same
 * direction, so every u_i moves by at most 1: sensitivity 1 per value, m when a data subject may
 * contribute m values.
 *
 * Sampling. P[bin i] ∝ exp(ε·u_i / (2m)) is ε-DP. It is drawn exactly: propose a bin uniformly and
 * accept it with probability exp(-γ_i), γ_i = ε·(u_max - u_i)/(2m), using the exact Bernoulli(exp(-γ))
 * sampler on rationals; an accepted proposal is distributed exactly as the exponential mechanism.
 * The best bin is accepted whenever proposed, so a proposal succeeds with probability ≥ 1/B and
 * 64·B proposals all fail with probability ≤ (1 - 1/B)^{64B} ≤ e^{-64} ≈ 1.6e-28; past that the
 * mechanism throws, an event too rare to matter as a δ.
 */
import {
  PrivacyParameterError,
  positiveInteger,
  positiveRational,
  rational,
  rationalFromNumber,
  toNumber,
} from './rational.ts';
import { sampleBernoulliExp, uniformBelow } from './samplers.ts';

export interface QuantileParams {
  readonly lower: number;
  readonly upper: number;
  readonly bins: number;
  /** q in [0, 1]: 0.5 for the median. */
  readonly quantile: number;
  readonly epsilon: number;
  /** m: the most values one data subject contributes (bounded upstream); 1 when omitted. */
  readonly maxContributionsPerSubject?: number;
}

export interface QuantileRelease {
  readonly bin: number;
  /** The chosen bin's value range and its midpoint, the released estimate. */
  readonly lower: number;
  readonly upper: number;
  readonly midpoint: number;
}

export interface QuantileMechanism {
  readonly cost: { epsilon: number; delta: number };
  readonly bins: number;
  release(counts: readonly (number | bigint)[]): QuantileRelease;
  /** The exact output distribution for these counts, in floating point (for reports and tests). */
  probabilities(counts: readonly (number | bigint)[]): number[];
}

/** The exponential mechanism gave up after 64·B proposals (probability below 1e-27). */
export class QuantileSamplingError extends Error {
  constructor(proposals: number) {
    super(`exponential mechanism: no proposal accepted in ${proposals} tries`);
    this.name = 'QuantileSamplingError';
  }
}

const PROPOSALS_PER_BIN = 64;

export function makeQuantile(params: QuantileParams): QuantileMechanism {
  const { lower, upper, quantile } = params;
  if (!(Number.isFinite(lower) && Number.isFinite(upper) && lower < upper)) {
    throw new PrivacyParameterError(`quantile bounds must be finite with lower < upper, got [${lower}, ${upper}]`);
  }
  if (!(quantile >= 0 && quantile <= 1)) throw new PrivacyParameterError(`quantile must be in [0, 1], got ${quantile}`);
  const bins = Number(positiveInteger('bins', params.bins));
  const epsilon = positiveRational('epsilon', params.epsilon);
  const contributions = positiveInteger('maxContributionsPerSubject', params.maxContributionsPerSubject ?? 1);
  const q = rationalFromNumber(quantile);
  const width = (upper - lower) / bins;

  /** D_i = q.den·(-u_i): distances to the target rank, as integers. */
  function scaledDistances(counts: readonly (number | bigint)[]): bigint[] {
    if (counts.length !== bins) throw new PrivacyParameterError(`expected ${bins} bin counts, got ${counts.length}`);
    const values = counts.map((count) => {
      const value = BigInt(count);
      if (value < 0n) throw new PrivacyParameterError(`bin counts must be ≥ 0, got ${count}`);
      return value;
    });
    const target = q.num * values.reduce((sum, value) => sum + value, 0n);
    let below = 0n;
    return values.map((value) => {
      const start = below * q.den;
      below += value;
      const end = below * q.den;
      return start > target ? start - target : target > end ? target - end : 0n;
    });
  }

  /** γ_i = ε·(D_i - D_min)/(2m·q.den), as num/den over one shared denominator. */
  function exponents(counts: readonly (number | bigint)[]) {
    const distances = scaledDistances(counts);
    const nearest = distances.reduce((min, d) => (d < min ? d : min));
    const den = 2n * contributions * q.den * epsilon.den;
    return distances.map((d) => ({ num: epsilon.num * (d - nearest), den }));
  }

  return {
    cost: { epsilon: params.epsilon, delta: 0 },
    bins,
    release(counts) {
      const gammas = exponents(counts);
      const proposals = PROPOSALS_PER_BIN * bins;
      for (let i = 0; i < proposals; i++) {
        const bin = Number(uniformBelow(BigInt(bins)));
        const gamma = gammas[bin];
        if (gamma && sampleBernoulliExp(rational(gamma.num, gamma.den))) {
          const binLower = lower + bin * width;
          const binUpper = bin === bins - 1 ? upper : lower + (bin + 1) * width;
          return { bin, lower: binLower, upper: binUpper, midpoint: (binLower + binUpper) / 2 };
        }
      }
      throw new QuantileSamplingError(proposals);
    },
    probabilities(counts) {
      const weights = exponents(counts).map(({ num, den }) => Math.exp(-toNumber(rational(num, den))));
      const total = weights.reduce((sum, w) => sum + w, 0);
      return weights.map((w) => w / total);
    },
  };
}
