import { describe, expect, it } from 'vitest';
import { makeQuantile } from '../../src/dp/quantile.ts';
import { PrivacyParameterError } from '../../src/dp/rational.ts';
import { REJECT_BELOW, goodnessOfFit } from './dp-statistics.ts';

// 220 values over [0, 100) in 10 bins; ranks before each bin: 0, 5, 15, 35, 75, 175, 205, 215, 220, 220.
const COUNTS = [5, 10, 20, 40, 100, 30, 10, 5, 0, 0];

function chosenBins(mechanism: ReturnType<typeof makeQuantile>, counts: readonly number[], draws: number): bigint[] {
  return Array.from({ length: draws }, () => BigInt(mechanism.release(counts).bin));
}

/** P[bin i] ∝ exp(-ε·dist(q·n, [r_i, r_{i+1}])/2), written out independently of the module. */
function exponentialMechanism(counts: readonly number[], q: number, epsilon: number): number[] {
  const n = counts.reduce((sum, c) => sum + c, 0);
  let below = 0;
  const weights = counts.map((count) => {
    const start = below;
    below += count;
    const distance = Math.max(start - q * n, 0, q * n - below);
    return Math.exp((-epsilon * distance) / 2);
  });
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => w / total);
}

describe('makeQuantile (exponential mechanism)', () => {
  it('picks the bin holding the median when ε is large', () => {
    const median = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.5, epsilon: 5 });
    const releases = Array.from({ length: 2000 }, () => median.release(COUNTS));
    expect(releases.every((r) => r.bin === 4)).toBe(true);
    expect(releases[0]).toMatchObject({ bin: 4, binLower: 40, binUpper: 50, value: 45 });
    expect(median.cost).toEqual({ epsilon: 5, delta: 0 });
  });

  it('picks the right bin for other quantiles', () => {
    const p90 = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.9, epsilon: 20 });
    // 0.9·220 = 198 lies in bin 5 (ranks 175..205).
    expect(Array.from({ length: 500 }, () => p90.release(COUNTS).bin).every((bin) => bin === 5)).toBe(true);
  });

  it('finds the bin of a clump (where a rank-below-only score ties every bin)', () => {
    const median = makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 0.5, epsilon: 6 });
    const [p0, p1, , p3] = median.probabilities([0, 0, 100, 0]);
    expect(Math.max(p0!, p1!, p3!)).toBeLessThan(1e-20);
    expect(Array.from({ length: 500 }, () => median.release([0, 0, 100, 0]).bin).every((bin) => bin === 2)).toBe(true);
  });

  it('is near uniform when ε is tiny', () => {
    const median = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.5, epsilon: 1e-6 });
    for (const p of median.probabilities(COUNTS)) expect(Math.abs(p - 0.1)).toBeLessThan(1e-4);
    const fit = goodnessOfFit(chosenBins(median, COUNTS, 50_000), (y) => (y >= 0 && y < 10 ? 0.1 : 0));
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it('samples exactly the exponential-mechanism distribution at a moderate ε (a third of it for the estimate)', () => {
    const epsilon = 0.3;
    const median = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.5, epsilon });
    const expected = exponentialMechanism(COUNTS, 0.5, epsilon / 3);
    for (const [i, p] of median.probabilities(COUNTS).entries()) expect(p).toBeCloseTo(expected[i]!, 12);
    const bins = chosenBins(median, COUNTS, 50_000);
    expect(goodnessOfFit(bins, (y) => expected[y] ?? 0, { minExpected: 5 }).pValue).toBeGreaterThan(REJECT_BELOW);
    // The same test rejects the distribution without the factor 1/2 in the exponent.
    const tooSharp = exponentialMechanism(COUNTS, 0.5, (2 * epsilon) / 3);
    expect(goodnessOfFit(bins, (y) => tooSharp[y] ?? 0, { minExpected: 5 }).pValue).toBeLessThan(REJECT_BELOW);
  });

  it('divides ε by the contribution bound', () => {
    const bounded = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.5, epsilon: 0.9, maxContributionsPerSubject: 3 });
    const expected = exponentialMechanism(COUNTS, 0.5, 0.1);
    for (const [i, p] of bounded.probabilities(COUNTS).entries()) expect(p).toBeCloseTo(expected[i]!, 12);
  });

  it('brackets the quantile with bounds that stay in order and hold the estimate', () => {
    const median = makeQuantile({ lower: 0, upper: 100, bins: 10, quantile: 0.5, epsilon: 3 });
    for (let i = 0; i < 500; i++) {
      const { low, high, value } = median.release(COUNTS);
      expect(low).toBeLessThanOrEqual(value);
      expect(value).toBeLessThanOrEqual(high);
    }
  });

  it('refuses bad parameters and mismatched histograms', () => {
    expect(() => makeQuantile({ lower: 1, upper: 1, bins: 4, quantile: 0.5, epsilon: 1 })).toThrow(PrivacyParameterError);
    expect(() => makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 1.5, epsilon: 1 })).toThrow(PrivacyParameterError);
    expect(() => makeQuantile({ lower: 0, upper: 1, bins: 0, quantile: 0.5, epsilon: 1 })).toThrow(PrivacyParameterError);
    const median = makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 0.5, epsilon: 1 });
    expect(() => median.release([1, 2, 3])).toThrow(/expected 4 bin counts/);
    expect(() => median.release([1, -2, 3, 4])).toThrow(/≥ 0/);
  });
});
