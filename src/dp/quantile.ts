/**
 * A quantile with an interval, by the exponential mechanism (McSherry & Talwar 2007) over a histogram
 * with declared bounds: [lower, upper] split into B equal bins; SQL computes the counts, e.g. the 0-based
 * bin of a value x is `least(width_bucket(least(greatest(x, lower), upper), lower, upper, B), B) - 1`.
 *
 * Utility. With n values, r_i values below bin i and r_{i+1} values up to its end, a target rank t
 * scores bin i u_i = -dist(t, [r_i, r_{i+1}]): 0 for the bin that holds rank t, minus the number of
 * values in between for the others. (Scoring only the rank below a bin, -|r_i - t|, cannot tell the bins
 * of a clump apart: with every value in one bin all bins tie.) Adding or removing one value moves r_i,
 * r_{i+1} by at most 1 and t = q·n ± s by q ≤ 1 in the same direction, so every u_i moves by at most 1:
 * sensitivity 1 per value, m when a data subject may contribute m values.
 *
 * Three selections, ε/3 each (basic composition): the estimate at t = q·n, and two bounds. The rank error
 * of one selection is small, but ranks say nothing about values across empty bins (one value in
 * [0, 100]: every empty bin is at rank distance ½ from the median), so the released bin alone covers the
 * true quantile rarely. The bounds instead aim at ranks s + 1 beyond q·n, where s is the rank error the
 * selection exceeds with probability ≤ β = (1 - confidence)/2: with C candidates each scored ≤ 0 and one
 * scored 0, P[u ≤ -s] ≤ C·exp(-ε's/(2m)), so s = 2m·ln(C/β)/ε'. The low selection targets
 * t = q·n - s - 1 and has an extra candidate "below every value", ranks (-∞, 0], standing for `lower`;
 * whichever it picks is within s of t, so a bin it picks has r_i ≤ q·n - 1 values below its start.
 * Symmetrically the high selection targets q·n + s + 1 with a candidate [n, ∞) standing for `upper`.
 * So with probability ≥ confidence, fewer than ⌊q·n⌋ values lie below `low` and more than ⌈q·n⌉ lie at
 * or below `high`: [low, high] holds every usual q-quantile of the (clamped) values, the order statistic
 * x_(⌈q·n⌉) and percentile_cont's interpolation between x_(⌊q(n-1)⌋+1) and x_(⌈q(n-1)⌉+1) alike.
 *
 * Sampling. P[candidate i] ∝ exp(ε'·u_i / (2m)) is ε'-DP. It is drawn exactly: propose a candidate
 * uniformly and accept it with probability exp(-γ_i), γ_i = ε'·(u_max - u_i)/(2m), by the exact
 * Bernoulli(exp(-γ)) sampler on rationals; an accepted proposal is distributed exactly as the mechanism.
 * The best candidate is always accepted, so 64·C proposals all fail with probability ≤ e^{-64} ≈ 1.6e-28;
 * past that the mechanism throws, an event too rare to matter as a δ.
 */
import { PrivacyParameterError, divide, positiveInteger, positiveRational, rational, rationalFromNumber, toNumber, type Rational } from './rational.ts';
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
  /** Probability that [low, high] holds the true quantile; 0.95 when omitted. */
  readonly confidence?: number;
}

export interface QuantileRelease {
  /** The estimate's bin and its value range. */
  readonly bin: number;
  readonly binLower: number;
  readonly binUpper: number;
  /** The estimate: its bin's midpoint, moved into [low, high] in the rare case it lies outside. */
  readonly value: number;
  /** Holds every usual q-quantile of the values with probability ≥ confidence. */
  readonly low: number;
  readonly high: number;
}

export interface QuantileMechanism {
  readonly cost: { epsilon: number; delta: number };
  readonly bins: number;
  readonly confidence: number;
  /** With probability ≥ confidence, the estimate's bin is within this many ranks of q·n. */
  readonly rankError: number;
  release(counts: readonly (number | bigint)[]): QuantileRelease;
  /** The estimate's exact output distribution over bins for these counts, in floating point. */
  probabilities(counts: readonly (number | bigint)[]): number[];
}

/** The exponential mechanism gave up after 64·C proposals (probability below 1e-27). */
export class QuantileSamplingError extends Error {
  constructor(proposals: number) {
    super(`exponential mechanism: no proposal accepted in ${proposals} tries`);
    this.name = 'QuantileSamplingError';
  }
}

const PROPOSALS_PER_CANDIDATE = 64;
const SELECTIONS = 3n;

/** Which selection: its target rank and its extra candidate beyond the bins. */
type Side = 'estimate' | 'low' | 'high';

export function makeQuantile(params: QuantileParams): QuantileMechanism {
  const { lower, upper, quantile } = params;
  if (!(Number.isFinite(lower) && Number.isFinite(upper) && lower < upper)) {
    throw new PrivacyParameterError(`quantile bounds must be finite with lower < upper, got [${lower}, ${upper}]`);
  }
  if (!(quantile >= 0 && quantile <= 1)) throw new PrivacyParameterError(`quantile must be in [0, 1], got ${quantile}`);
  const confidence = params.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new PrivacyParameterError(`confidence must be in (0, 1), got ${confidence}`);
  const bins = Number(positiveInteger('bins', params.bins));
  const share = divide(positiveRational('epsilon', params.epsilon), rational(SELECTIONS));
  const contributions = positiveInteger('maxContributionsPerSubject', params.maxContributionsPerSubject ?? 1);
  const q = rationalFromNumber(quantile);
  const width = (upper - lower) / bins;
  const binLower = (bin: number) => lower + bin * width;
  const binUpper = (bin: number) => (bin === bins - 1 ? upper : lower + (bin + 1) * width);

  const rankErrorAt = (candidates: number, failure: number) => (2 * Number(contributions) * Math.log(candidates / failure)) / toNumber(share);
  const boundError = rankErrorAt(bins + 1, (1 - confidence) / 2);
  if (!Number.isFinite(boundError))
    throw new PrivacyParameterError(`epsilon ${params.epsilon} is too small for a quantile: its rank error is not a finite number`);
  /** Ranks between q·n and the bounds' targets. */
  const boundShift = BigInt(Math.ceil(boundError)) + 1n;

  function histogram(counts: readonly (number | bigint)[]): bigint[] {
    if (counts.length !== bins) throw new PrivacyParameterError(`expected ${bins} bin counts, got ${counts.length}`);
    return counts.map((count) => {
      const value = BigInt(count);
      if (value < 0n) throw new PrivacyParameterError(`bin counts must be ≥ 0, got ${count}`);
      return value;
    });
  }

  /** q.den·(-u) of every candidate, as integers: the bins, then the extra candidate of a bound. */
  function scaledDistances(values: readonly bigint[], side: Side): bigint[] {
    const n = values.reduce((sum, value) => sum + value, 0n);
    const target = q.num * n + (side === 'low' ? -boundShift : side === 'high' ? boundShift : 0n) * q.den;
    let below = 0n;
    const distances = values.map((value) => {
      const start = below * q.den;
      below += value;
      const end = below * q.den;
      return start > target ? start - target : target > end ? target - end : 0n;
    });
    if (side === 'low') return [target > 0n ? target : 0n, ...distances];
    const top = n * q.den;
    return side === 'high' ? [...distances, top > target ? top - target : 0n] : distances;
  }

  /** γ_i = ε'·(D_i - D_min)/(2m·q.den), as num/den over one shared denominator. */
  function exponents(distances: readonly bigint[]): Rational[] {
    // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
    const nearest = distances.reduce((min, d) => (d < min ? d : min));
    const den = 2n * contributions * q.den * share.den;
    return distances.map((d) => ({ num: share.num * (d - nearest), den }));
  }

  function select(distances: readonly bigint[]): number {
    const gammas = exponents(distances);
    const proposals = PROPOSALS_PER_CANDIDATE * gammas.length;
    for (let i = 0; i < proposals; i++) {
      const candidate = Number(uniformBelow(BigInt(gammas.length)));
      const gamma = gammas[candidate]!;
      if (sampleBernoulliExp(rational(gamma.num, gamma.den))) return candidate;
    }
    throw new QuantileSamplingError(proposals);
  }

  return {
    cost: { epsilon: params.epsilon, delta: 0 },
    bins,
    confidence,
    rankError: rankErrorAt(bins, 1 - confidence),
    release(counts) {
      const values = histogram(counts);
      const bin = select(scaledDistances(values, 'estimate'));
      const lowPick = select(scaledDistances(values, 'low'));
      const highPick = select(scaledDistances(values, 'high'));
      const lowBound = lowPick === 0 ? lower : binLower(lowPick - 1);
      const highBound = highPick === bins ? upper : binUpper(highPick);
      // Both bounds hold together with probability ≥ confidence; when one fails they may cross, and
      // ordering them can only add coverage.
      const low = Math.min(lowBound, highBound);
      const high = Math.max(lowBound, highBound);
      const midpoint = (binLower(bin) + binUpper(bin)) / 2;
      return { bin, binLower: binLower(bin), binUpper: binUpper(bin), value: Math.min(high, Math.max(low, midpoint)), low, high };
    },
    probabilities(counts) {
      const weights = exponents(scaledDistances(histogram(counts), 'estimate')).map((gamma) => Math.exp(-toNumber(rational(gamma.num, gamma.den))));
      const total = weights.reduce((sum, w) => sum + w, 0);
      return weights.map((w) => w / total);
    },
  };
}
