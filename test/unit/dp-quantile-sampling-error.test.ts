import { afterEach, describe, expect, it, vi } from 'vitest';
import { QuantileSamplingError, makeQuantile } from '../../src/dp/quantile.ts';
import type { Rational } from '../../src/dp/rational.ts';
import { sampleBernoulliExp, uniformBelow } from '../../src/dp/samplers.ts';

// The samplers are replaced for this whole file (vi.mock is per file): a real Bernoulli(exp(-γ)) never
// fails 64·C times in a row, and the selections' γ and picks are only observable when the tests choose them.
vi.mock('../../src/dp/samplers.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/dp/samplers.ts')>();
  return { ...real, uniformBelow: vi.fn(real.uniformBelow), sampleBernoulliExp: vi.fn(real.sampleBernoulliExp) };
});

afterEach(() => {
  vi.mocked(uniformBelow).mockReset();
  vi.mocked(sampleBernoulliExp).mockReset();
});

const fraction = (gamma: Rational) => `${gamma.num}/${gamma.den}`;

/**
 * Scripts the three selections of one release (estimate, low, high, in that order): each proposes every
 * candidate once, rejecting it and recording its γ, then proposes its pick and accepts it.
 */
function script(picks: readonly [number, number, number]): string[][] {
  const gammas: string[][] = [];
  let step = 0;
  let size = 0;
  vi.mocked(uniformBelow).mockImplementation((n) => {
    if (step === 0) {
      gammas.push([]);
      size = Number(n);
    }
    const candidate = step < size ? step : picks[gammas.length - 1]!;
    step += 1;
    return BigInt(candidate);
  });
  vi.mocked(sampleBernoulliExp).mockImplementation((gamma) => {
    if (step <= size) {
      gammas.at(-1)!.push(fraction(gamma));
      return false;
    }
    step = 0;
    return true;
  });
  return gammas;
}

describe('QuantileSamplingError', () => {
  it.each([
    [4, 256],
    [7, 448],
  ])('is thrown after exactly 64·C proposals (%i bins: %i) all fail', (bins, proposals) => {
    vi.mocked(uniformBelow).mockImplementation(() => 0n);
    vi.mocked(sampleBernoulliExp).mockImplementation(() => false);
    const median = makeQuantile({ lower: 0, upper: 1, bins, quantile: 0.5, epsilon: 1 });
    let error: unknown;
    try {
      median.release(Array.from({ length: bins }, () => 1));
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(QuantileSamplingError);
    expect((error as Error).name).toBe('QuantileSamplingError');
    expect((error as Error).message).toBe(`exponential mechanism: no proposal accepted in ${proposals} tries`);
    // The estimate gives up first: its candidates are the bins alone.
    expect(vi.mocked(sampleBernoulliExp)).toHaveBeenCalledTimes(proposals);
    expect(vi.mocked(uniformBelow)).toHaveBeenCalledTimes(proposals);
    expect(vi.mocked(uniformBelow).mock.calls.every(([n]) => n === BigInt(bins))).toBe(true);
  });
});

describe('makeQuantile selections hand the exact sampler exactly γ_i = (ε/3)·dist_i/(2m)', () => {
  it('targets q·n, q·n - s - 1 and q·n + s + 1, with the extra candidates at their distances', () => {
    // ε/3 = 5, m = 1: γ = 5/2 per rank. Bound rank error s = 2·ln(5/0.025)/5 ≈ 2.119, so the shift is ⌈s⌉ + 1 = 4.
    const p25 = makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 0.25, epsilon: 15 });
    const gammas = script([1, 2, 2]);
    p25.release([4, 6, 6, 4]);
    // 20 values, ranks per bin [0,4], [4,10], [10,16], [16,20]; q·n = 5.
    expect(gammas).toEqual([
      // Estimate at 5: distances 1, 0, 5, 11.
      ['5/2', '0/1', '25/2', '55/2'],
      // Low at 1: (-∞, 0] is 1 away, then the bins at 0, 3, 9, 15.
      ['5/2', '0/1', '15/2', '45/2', '75/2'],
      // High at 9: the bins at 5, 0, 1, 7, then [20, ∞) at 11.
      ['25/2', '0/1', '5/2', '35/2', '55/2'],
    ]);
  });

  it('puts the extra candidates at distance 0 when a bound target lies beyond every value, and divides by m', () => {
    // m = 2: γ = 5/4 per rank; s = 4·ln(5/0.025)/5 ≈ 4.239, shift 6.
    const p25 = makeQuantile({ lower: 0, upper: 1, bins: 4, quantile: 0.25, epsilon: 15, maxContributionsPerSubject: 2 });
    const gammas = script([0, 0, 4]);
    p25.release([1, 1, 1, 1]);
    // 4 values, one per bin; q·n = 1, on the edge of bins 0 and 1.
    expect(gammas).toEqual([
      ['0/1', '0/1', '5/4', '5/2'],
      // Low at -5: (-∞, 0] holds it; the bins start 5, 6, 7, 8 ranks above it.
      ['0/1', '25/4', '15/2', '35/4', '10/1'],
      // High at 7: the bins end 6, 5, 4, 3 ranks below it; [4, ∞) holds it.
      ['15/2', '25/4', '5/1', '15/4', '0/1'],
    ]);
  });

  it('measures distances in ranks whatever the denominator of q', () => {
    // q = 0.5, ε/3 = 1/10, m = 1: γ = 1/20 per rank; s = 2·ln(3/0.025)/0.1 ≈ 95.7, shift 97.
    const median = makeQuantile({ lower: 0, upper: 1, bins: 2, quantile: 0.5, epsilon: 0.3 });
    const gammas = script([0, 1, 1]);
    median.release([3, 0]);
    // q·n = 1.5 in bin 0 ([0,3]); bin 1 is [3,3], 1.5 ranks away. Low at -95.5, high at 98.5.
    expect(gammas).toEqual([
      ['0/1', '3/40'],
      ['0/1', '191/40', '197/40'],
      ['191/40', '191/40', '0/1'],
    ]);
  });
});

describe('makeQuantile release maps the picks to values', () => {
  // [0, 10] in 5 bins of width 2. Low candidates: 0 stands for `lower`, k + 1 for bin k's start.
  // High candidates: k for bin k's end, 5 for `upper`.
  const release = (picks: readonly [number, number, number]) => {
    script(picks);
    return makeQuantile({ lower: 0, upper: 10, bins: 5, quantile: 0.5, epsilon: 1 }).release([1, 1, 1, 1, 1]);
  };

  it('maps the extra candidates to `lower` and `upper`', () => {
    expect(release([2, 0, 5])).toEqual({ bin: 2, binLower: 4, binUpper: 6, value: 5, low: 0, high: 10 });
  });

  it('maps a low pick to the start of the bin before it and a high pick to the end of its bin', () => {
    expect(release([2, 2, 3])).toEqual({ bin: 2, binLower: 4, binUpper: 6, value: 5, low: 2, high: 8 });
    expect(release([2, 1, 4])).toEqual({ bin: 2, binLower: 4, binUpper: 6, value: 5, low: 0, high: 10 });
  });

  it('orders bounds that crossed', () => {
    // Low picked bin 4 (starts at 8), high bin 0 (ends at 2).
    expect(release([2, 5, 0])).toEqual({ bin: 2, binLower: 4, binUpper: 6, value: 5, low: 2, high: 8 });
  });

  it('clamps a midpoint outside [low, high] to the nearer bound', () => {
    // Midpoint 9 above high = 4.
    expect(release([4, 1, 1])).toEqual({ bin: 4, binLower: 8, binUpper: 10, value: 4, low: 0, high: 4 });
    // Midpoint 1 below low = 6.
    expect(release([0, 4, 4])).toEqual({ bin: 0, binLower: 0, binUpper: 2, value: 6, low: 6, high: 10 });
  });
});
