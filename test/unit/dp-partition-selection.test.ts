import { describe, expect, it } from 'vitest';
import { makePartitionSelection, selectPartition } from '../../src/dp/partition-selection.ts';
import { PrivacyParameterError, rational } from '../../src/dp/rational.ts';
import { withinBinomial } from './dp-statistics.ts';

/** P[Z ≥ m] for the discrete Laplace with scale b, summed term by term (for m < 0, by symmetry: 1 - P[Z ≥ 1 - m]). */
function tailAtLeast(b: number, m: number): number {
  if (m < 0) return 1 - tailAtLeast(b, 1 - m);
  const a = Math.exp(-1 / b);
  let tail = 0;
  for (let z = m; z < m + 200 * b + 200; z++) tail += ((1 - a) / (1 + a)) * a ** z;
  return tail;
}

/** Every multiset of group sizes ≥ 1 with total ≤ k: the ways one subject can create groups only it is in. */
function groupSplits(k: number, largest = k): number[][] {
  const splits: number[][] = [[]];
  for (let first = Math.min(k, largest); first >= 1; first--) {
    for (const rest of groupSplits(k - first, first)) splits.push([first, ...rest]);
  }
  return splits;
}

/** P[at least one of these groups is released] = 1 - Π(1 - P[Z ≥ τ - c]), with P[Z ≥ m] = a^m/(1+a) for m ≥ 0. */
function releaseAnyOf(split: readonly number[], b: number, threshold: number): number {
  const a = Math.exp(-1 / b);
  const tail = (m: number) => (m >= 0 ? Math.exp(-m / b) / (1 + a) : 1 - Math.exp((m - 1) / b) / (1 + a));
  return -Math.expm1(split.reduce((sum, c) => sum + Math.log1p(-tail(threshold - c)), 0));
}

describe('partition selection', () => {
  it('sets the threshold from the discrete Laplace tail (k = 1, ε = 1, δ = 0.01 gives τ = 6)', () => {
    // a = e^-1: P[Z ≥ 5] = e^-5/(1+e^-1) ≈ 0.00493 ≤ 0.01 < P[Z ≥ 4] ≈ 0.0134.
    const selection = makePartitionSelection({ maxRowsPerSubject: 1, epsilon: 1, delta: 0.01 });
    expect(selection.threshold).toBe(6n);
    expect(selection.scale).toEqual(rational(1n));
    expect(selection.cost).toEqual({ epsilon: 1, delta: 0.01 });
    expect(selection.releaseProbability(1)).toBeCloseTo(Math.exp(-5) / (1 + Math.exp(-1)), 15);
  });

  it('gives the exact release probability at scales other than 1, below, at and above the threshold', () => {
    for (const [k, epsilon] of [
      [2, 1],
      [1, 2],
      [3, 0.3],
    ] as const) {
      const b = k / epsilon;
      const selection = makePartitionSelection({ maxRowsPerSubject: k, epsilon, delta: 1e-3 });
      const tau = Number(selection.threshold);
      for (const count of [1, k, tau - 1, tau, tau + 1, tau + 7]) {
        expect(selection.releaseProbability(count), `b ${b}, count ${count}`).toBeCloseTo(tailAtLeast(b, tau - count), 12);
      }
    }
  });

  it('refuses the 1.32×δ case of issue 21: one subject putting both its rows in one group', () => {
    // With τ set for k singletons only, P[2 + Z ≥ τ] was 0.0134 here.
    expect(makePartitionSelection({ maxRowsPerSubject: 2, epsilon: 2, delta: 0.01 }).releaseProbability(2)).toBeLessThanOrEqual(0.01);
  });

  const grid = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((k) =>
    [0.01, 0.1, 1, 3, 10].flatMap((epsilon) => [1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.1].map((delta) => [k, epsilon, delta] as const)),
  );
  it('bounds the release of a subject’s own groups by δ over every split of its k rows, with the smallest τ', () => {
    for (const [k, epsilon, delta] of grid) {
      const tau = Number(makePartitionSelection({ maxRowsPerSubject: k, epsilon, delta }).threshold);
      const splits = groupSplits(k);
      const worst = (threshold: number) => Math.max(...splits.map((split) => releaseAnyOf(split, k / epsilon, threshold)));
      expect(worst(tau), `k ${k}, ε ${epsilon}, δ ${delta}`).toBeLessThanOrEqual(delta * (1 + 1e-9));
      expect(worst(tau - 1), `k ${k}, ε ${epsilon}, δ ${delta}`).toBeGreaterThan(delta);
    }
  });

  it('keeps a group of one subject at the rate δ allows, never more', () => {
    const selection = makePartitionSelection({ maxRowsPerSubject: 1, epsilon: 1, delta: 0.01 });
    const trials = 200_000;
    let kept = 0;
    let malformed = 0;
    for (let i = 0; i < trials; i++) {
      const decision = selection.select(1n);
      if (decision.keep) kept += 1;
      if (decision.keep ? decision.noisyCount < selection.threshold : decision.noisyCount !== null) malformed += 1;
    }
    expect(malformed).toBe(0);
    expect(kept / trials).toBeLessThan(0.01);
    expect(withinBinomial(kept, trials, selection.releaseProbability(1))).toBe(true);
  });

  it('releases a group holding one subject’s k rows at a rate ≤ δ (sampled)', () => {
    // k = 2, ε = 4: τ = 3 from k singletons alone would release such a group with probability 0.119.
    const selection = makePartitionSelection({ maxRowsPerSubject: 2, epsilon: 4, delta: 0.05 });
    const trials = 40_000;
    let kept = 0;
    for (let i = 0; i < trials; i++) if (selection.select(2n).keep) kept += 1;
    expect(kept / trials).toBeLessThanOrEqual(0.05 + 4 * Math.sqrt((0.05 * 0.95) / trials));
    expect(withinBinomial(kept, trials, selection.releaseProbability(2))).toBe(true);
  });

  it('keeps a group of a thousand subjects every time, with its noisy count', () => {
    const params = { maxRowsPerSubject: 4, epsilon: 0.5, delta: 1e-6 };
    const selection = makePartitionSelection(params);
    // At ε/k = 1/8 four singleton groups decide: τ = 1 + ⌈8·ln(4/(1e-6·(1 + e^-1/8)))⌉ = 118 (one group of 4
    // rows alone would need 110). A count of 1000 is dropped only if Z ≤ -883 (probability < 1e-47).
    expect(selection.threshold).toBe(118n);
    const decisions = Array.from({ length: 10_000 }, () => selection.select(1000));
    expect(decisions.every((d) => d.keep && Math.abs(Number(d.noisyCount) - 1000) < 400)).toBe(true);
    expect(selectPartition(1000n, params).keep).toBe(true);
  });

  it('refuses parameters without a meaning', () => {
    expect(() => makePartitionSelection({ maxRowsPerSubject: 0, epsilon: 1, delta: 0.01 })).toThrow(
      new PrivacyParameterError('maxRowsPerSubject must be > 0, got 0'),
    );
    expect(() => makePartitionSelection({ maxRowsPerSubject: 1, epsilon: 1, delta: 0 })).toThrow('partition selection needs delta in (0, 0.5), got 0');
    expect(() => makePartitionSelection({ maxRowsPerSubject: 1, epsilon: 1, delta: 0.5 })).toThrow(PrivacyParameterError);
    expect(() => makePartitionSelection({ maxRowsPerSubject: 1, epsilon: 0, delta: 0.01 })).toThrow(PrivacyParameterError);
  });
});
