import { describe, expect, it } from 'vitest';
import { makeQuantile, type QuantileParams } from '../../src/dp/quantile.ts';
import { PrivacyParameterError } from '../../src/dp/rational.ts';

const BASE: QuantileParams = { lower: 0, upper: 1, bins: 4, quantile: 0.5, epsilon: 1 };

function refusal(params: Partial<QuantileParams>): unknown {
  try {
    makeQuantile({ ...BASE, ...params });
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The refusal must be this check's, not a later one's that happens to catch the same value. */
function expectRefused(params: Partial<QuantileParams>, message: string): void {
  const error = refusal(params);
  expect(error).toBeInstanceOf(PrivacyParameterError);
  expect((error as Error).message).toBe(message);
}

function expectAccepted(params: Partial<QuantileParams>): void {
  expect(refusal(params)).toBeUndefined();
}

/** The header's rank error of one selection: 2m·ln(C/failure)/(ε/3). */
function rankErrorOf(m: number, candidates: number, failure: number, epsilon: number): number {
  return (2 * m * Math.log(candidates / failure)) / (epsilon / 3);
}

/** Ranks between q·n and the bounds' targets: s + 1 for the rank error s of C = B + 1 candidates at β = (1 - confidence)/2. */
function boundShift(params: QuantileParams): number {
  const confidence = params.confidence ?? 0.95;
  return Math.ceil(rankErrorOf(params.maxContributionsPerSubject ?? 1, params.bins + 1, (1 - confidence) / 2, params.epsilon)) + 1;
}

/** P[bin i] ∝ exp(ε/3 · u_i / (2m)), u_i = -dist(q·n, [r_i, r_{i+1}]), from the header's definition. */
function expectedDistribution(counts: readonly number[], q: number, epsilon: number, m: number): number[] {
  const target = q * counts.reduce((sum, c) => sum + c, 0);
  let below = 0;
  const weights = counts.map((count) => {
    const start = below;
    below += count;
    const utility = -Math.max(start - target, 0, target - below);
    return Math.exp(((epsilon / 3) * utility) / (2 * m));
  });
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => w / total);
}

describe('makeQuantile parameter boundaries', () => {
  it('refuses bounds that are equal, reversed or not finite, and accepts any finite lower < upper', () => {
    expectRefused({ lower: 1, upper: 1 }, 'quantile bounds must be finite with lower < upper, got [1, 1]');
    expectRefused({ lower: 2, upper: 1 }, 'quantile bounds must be finite with lower < upper, got [2, 1]');
    expectRefused({ lower: Number.NEGATIVE_INFINITY, upper: 1 }, 'quantile bounds must be finite with lower < upper, got [-Infinity, 1]');
    expectRefused({ lower: 0, upper: Number.POSITIVE_INFINITY }, 'quantile bounds must be finite with lower < upper, got [0, Infinity]');
    expectRefused({ lower: Number.NaN, upper: 1 }, 'quantile bounds must be finite with lower < upper, got [NaN, 1]');
    expectAccepted({ lower: -2, upper: -1 });
  });

  it('accepts the quantiles 0 and 1 and refuses anything outside [0, 1] or NaN', () => {
    expectAccepted({ quantile: 0 });
    expectAccepted({ quantile: 1 });
    expectRefused({ quantile: -1e-9 }, 'quantile must be in [0, 1], got -1e-9');
    expectRefused({ quantile: 1 + 1e-9 }, 'quantile must be in [0, 1], got 1.000000001');
    expectRefused({ quantile: Number.NaN }, 'quantile must be in [0, 1], got NaN');
  });

  it('accepts a confidence strictly inside (0, 1) only', () => {
    expectRefused({ confidence: 0 }, 'confidence must be in (0, 1), got 0');
    expectRefused({ confidence: 1 }, 'confidence must be in (0, 1), got 1');
    expectRefused({ confidence: Number.NaN }, 'confidence must be in (0, 1), got NaN');
    expect(makeQuantile({ ...BASE, confidence: 0.5 }).confidence).toBe(0.5);
  });

  it('defaults the confidence to 0.95, in the mechanism and in its rank error', () => {
    const mechanism = makeQuantile(BASE);
    expect(mechanism.confidence).toBe(0.95);
    expect(mechanism.rankError).toBe(makeQuantile({ ...BASE, confidence: 0.95 }).rankError);
    expect(mechanism.rankError).toBeCloseTo(rankErrorOf(1, 4, 1 - 0.95, 1), 12);
    // 6·ln 80: written out so the expected value does not share the formula's arithmetic.
    expect(mechanism.rankError).toBeCloseTo(26.29215980804328, 12);
  });

  it('takes bins as a positive integer, one bin included', () => {
    expectRefused({ bins: 0 }, 'bins must be > 0, got 0');
    expectRefused({ bins: 1.5 }, 'bins must be an integer, got 1.5');
    expect(makeQuantile({ ...BASE, bins: 1 }).bins).toBe(1);
    expect(makeQuantile({ ...BASE, bins: 7 }).bins).toBe(7);
  });

  it('refuses ε = 0 and a contribution bound of 0 by name, and costs exactly ε with δ = 0', () => {
    expectRefused({ epsilon: 0 }, 'epsilon must be a finite number > 0, got 0');
    expectRefused({ maxContributionsPerSubject: 0 }, 'maxContributionsPerSubject must be > 0, got 0');
    expect(makeQuantile({ ...BASE, epsilon: 0.7 }).cost).toEqual({ epsilon: 0.7, delta: 0 });
  });

  it('refuses an ε so small that the rank error of the bounds is not finite', () => {
    expectRefused({ epsilon: 5e-324 }, 'epsilon 5e-324 is too small for a quantile: its rank error is not a finite number');
    // Tiny but with a finite rank error: still a mechanism.
    expectAccepted({ epsilon: 1e-300 });
  });

  it('exposes the rank error 2m·ln(B/(1 - confidence))/(ε/3) of the estimate', () => {
    const wide = makeQuantile({ ...BASE, bins: 10, epsilon: 0.3, confidence: 0.5, maxContributionsPerSubject: 2 });
    expect(wide.rankError).toBeCloseTo(rankErrorOf(2, 10, 0.5, 0.3), 12);
    // 40·ln 20.
    expect(wide.rankError).toBeCloseTo(119.82929094215963, 11);
    expect(makeQuantile({ ...BASE, bins: 3, epsilon: 2, confidence: 0.9 }).rankError).toBeCloseTo(rankErrorOf(1, 3, 1 - 0.9, 2), 12);
  });

  it('defaults the contribution bound to 1: a bound of 2 doubles the rank error exactly', () => {
    const one = makeQuantile(BASE);
    expect(makeQuantile({ ...BASE, maxContributionsPerSubject: 1 }).rankError).toBe(one.rankError);
    expect(makeQuantile({ ...BASE, maxContributionsPerSubject: 2 }).rankError).toBe(2 * one.rankError);
  });
});

describe('makeQuantile histogram validation', () => {
  const median = makeQuantile({ ...BASE, bins: 3 });

  it('refuses a histogram of the wrong length, naming both lengths', () => {
    expect(() => median.release([1, 2])).toThrow(new PrivacyParameterError('expected 3 bin counts, got 2'));
    expect(() => median.probabilities([1, 2, 3, 4])).toThrow(new PrivacyParameterError('expected 3 bin counts, got 4'));
  });

  it('refuses a negative count and accepts zero counts', () => {
    expect(() => median.release([1, -2, 3])).toThrow(new PrivacyParameterError('bin counts must be ≥ 0, got -2'));
    expect(() => median.probabilities([0, 0, 0])).not.toThrow();
  });
});

describe('makeQuantile probabilities: the exact exponential-mechanism distribution of the estimate', () => {
  const cases: [string, number[], number, number][] = [
    ['q = 0', [3, 0, 5, 2], 0, 1],
    ['q = 0.25', [3, 0, 5, 2], 0.25, 1],
    ['q = 0.5', [3, 0, 5, 2], 0.5, 1],
    ['q = 1', [3, 0, 5, 2], 1, 1],
    ['q·n on the edge shared by two bins and an empty one between', [3, 0, 5, 2], 0.3, 1],
    ['q = 0.25, m = 2', [3, 0, 5, 2], 0.25, 2],
    ['q = 1, m = 2', [3, 0, 5, 2], 1, 2],
    ['leading and inner empty bins, q·n on an edge', [0, 4, 0, 4], 0.5, 1],
    ['leading and inner empty bins, q = 1, m = 2', [0, 4, 0, 4], 1, 2],
  ];

  it.each(cases)('matches the definition for %s', (_name, counts, quantile, m) => {
    const epsilon = 1.2;
    const mechanism = makeQuantile({ lower: 0, upper: 1, bins: counts.length, quantile, epsilon, maxContributionsPerSubject: m });
    const expected = expectedDistribution(counts, quantile, epsilon, m);
    const actual = mechanism.probabilities(counts);
    expect(actual).toHaveLength(counts.length);
    for (const [i, p] of actual.entries()) expect(p).toBeCloseTo(expected[i]!, 12);
  });

  it('matches hand-computed weights for one histogram (ε/3 = 0.4, m = 1: weight e^{-0.2·distance})', () => {
    // Ranks of [3, 0, 5, 2]: bins [0,3], [3,3], [3,8], [8,10]; q·n = 2.5 → distances 0, 0.5, 0.5, 5.5.
    const weights = [1, Math.exp(-0.1), Math.exp(-0.1), Math.exp(-1.1)];
    const total = weights.reduce((sum, w) => sum + w, 0);
    const mechanism = makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 0.25, epsilon: 1.2 });
    for (const [i, p] of mechanism.probabilities([3, 0, 5, 2]).entries()) expect(p).toBeCloseTo(weights[i]! / total, 12);
  });

  it('is uniform over an empty histogram', () => {
    expect(makeQuantile({ ...BASE, bins: 4 }).probabilities([0, 0, 0, 0])).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe('makeQuantile release with a huge ε (every selection is effectively the nearest candidate)', () => {
  const EPSILON = 1e6;
  // Hand-built histograms below place q·n and q·n ± 2 inside single bins: a shift of 2 is what they assume.
  it('shifts the bounds by exactly 2 ranks at this ε', () => {
    expect(boundShift({ lower: 0, upper: 0.9, bins: 3, quantile: 0.5, epsilon: EPSILON })).toBe(2);
    expect(boundShift({ lower: 0, upper: 10, bins: 5, quantile: 0.5, epsilon: EPSILON })).toBe(2);
  });

  it('maps the bounds to the bins around the estimate: low = start of bin(q·n - 2), high = end of bin(q·n + 2)', () => {
    // 11 values over [0, 10] in 5 bins of width 2; ranks per bin [0,1], [1,4], [4,7], [7,10], [10,11].
    // q·n = 5.5 is in bin 2, 3.5 in bin 1, 7.5 in bin 3.
    const median = makeQuantile({ lower: 0, upper: 10, bins: 5, quantile: 0.5, epsilon: EPSILON });
    const expected = { bin: 2, binLower: 4, binUpper: 6, value: 5, low: 2, high: 8 };
    expect(median.release([1, 3, 3, 3, 1])).toEqual(expected);
    expect(median.release([1n, 3n, 3n, 3n, 1n])).toEqual(expected);
    // The width is upper - lower, not upper alone: over [-10, 10] the bins are 4 wide.
    const centred = makeQuantile({ lower: -10, upper: 10, bins: 5, quantile: 0.5, epsilon: EPSILON });
    expect(centred.release([1, 3, 3, 3, 1])).toEqual({ bin: 2, binLower: -2, binUpper: 2, value: 0, low: -6, high: 6 });
  });

  it('uses `lower` and `upper` when the bounds pick the candidates below and above every value', () => {
    // 3 values in [0, 0.9], ranks per bin [0,1], [1,2], [2,3]; q·n = 1.5, targets -0.5 (below 0) and 3.5 (above n).
    const median = makeQuantile({ lower: 0, upper: 0.9, bins: 3, quantile: 0.5, epsilon: EPSILON });
    expect(median.release([1, 1, 1])).toEqual({ bin: 1, binLower: 0.3, binUpper: 0.6, value: 0.44999999999999996, low: 0, high: 0.9 });
  });

  it('ends the last bin exactly at `upper`, where lower + B·width falls short of it', () => {
    expect(0 + 3 * (0.9 / 3)).toBe(0.8999999999999999);
    // 9 values, ranks per bin [0,1], [1,3], [3,9]; q·n = 6.75, targets 4.75 and 8.75: all in bin 2.
    const p75 = makeQuantile({ lower: 0, upper: 0.9, bins: 3, quantile: 0.75, epsilon: EPSILON });
    expect(p75.release([1, 2, 6])).toEqual({ bin: 2, binLower: 0.6, binUpper: 0.9, value: 0.75, low: 0.6, high: 0.9 });
    // q·n = 9 = n: the estimate is the last bin, the high target 11 lies above every value.
    const max = makeQuantile({ lower: 0, upper: 0.9, bins: 3, quantile: 1, epsilon: EPSILON });
    expect(max.release([1, 2, 6])).toEqual({ bin: 2, binLower: 0.6, binUpper: 0.9, value: 0.75, low: 0.6, high: 0.9 });
  });

  it('gives the minimum the first bin, `lower` as low and the end of the bin holding rank 2 as high', () => {
    // q·n = 0 is in bin 0 only ([0,1]); the low target -2 is below every value, the high target 2 in bin 1 ([1,3]).
    const min = makeQuantile({ lower: 0, upper: 0.9, bins: 3, quantile: 0, epsilon: EPSILON });
    expect(min.release([1, 2, 6])).toEqual({ bin: 0, binLower: 0, binUpper: 0.3, value: 0.15, low: 0, high: 0.6 });
  });
});
