import { describe, expect, it } from 'vitest';
import { makePartitionSelection, selectPartition } from '../../src/dp/partition-selection.ts';
import { PrivacyParameterError, rational } from '../../src/dp/rational.ts';
import { withinBinomial } from './dp-statistics.ts';

/** P[Z ≥ m] for the discrete Laplace with scale b, m ≥ 0, summed term by term. */
function tailAtLeast(b: number, m: number): number {
  const a = Math.exp(-1 / b);
  let tail = 0;
  for (let z = m; z < m + 200 * b + 200; z++) tail += ((1 - a) / (1 + a)) * a ** z;
  return tail;
}

describe('partition selection', () => {
  it('sets the threshold from the discrete Laplace tail (k = 1, ε = 1, δ = 0.01 gives τ = 6)', () => {
    // a = e^-1: P[Z ≥ 5] = e^-5/(1+e^-1) ≈ 0.00493 ≤ 0.01 < P[Z ≥ 4] ≈ 0.0134.
    const selection = makePartitionSelection({ maxPartitionsPerSubject: 1, epsilon: 1, delta: 0.01 });
    expect(selection.threshold).toBe(6n);
    expect(selection.scale).toEqual(rational(1n));
    expect(selection.cost).toEqual({ epsilon: 1, delta: 0.01 });
    expect(selection.releaseProbability(1)).toBeCloseTo(Math.exp(-5) / (1 + Math.exp(-1)), 15);
  });

  it.each([
    [1, 1, 0.01],
    [3, 0.5, 1e-6],
    [10, 2, 1e-9],
    [1, 0.1, 1e-5],
  ])('chooses the smallest τ with k·P[1 + Z ≥ τ] ≤ δ (k = %d, ε = %d, δ = %d)', (k, epsilon, delta) => {
    const selection = makePartitionSelection({ maxPartitionsPerSubject: k, epsilon, delta });
    const b = k / epsilon;
    const tau = Number(selection.threshold);
    expect(k * tailAtLeast(b, tau - 1)).toBeLessThanOrEqual(delta * (1 + 1e-9));
    expect(k * tailAtLeast(b, tau - 2)).toBeGreaterThan(delta);
    expect(selection.releaseProbability(1) * k).toBeLessThanOrEqual(delta);
  });

  it('keeps a group of one subject at the rate δ allows, never more', () => {
    const selection = makePartitionSelection({ maxPartitionsPerSubject: 1, epsilon: 1, delta: 0.01 });
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

  it('keeps a group of a thousand subjects every time, with its noisy count', () => {
    const params = { maxPartitionsPerSubject: 4, epsilon: 0.5, delta: 1e-6 };
    const selection = makePartitionSelection(params);
    // τ = 1 + ⌈8·ln(4/(1e-6·(1 + e^-1/8)))⌉ = 118: a count of 1000 is dropped only if Z ≤ -883 (probability < 1e-47).
    expect(selection.threshold).toBe(118n);
    const decisions = Array.from({ length: 10_000 }, () => selection.select(1000));
    expect(decisions.every((d) => d.keep && Math.abs(Number(d.noisyCount) - 1000) < 400)).toBe(true);
    expect(selectPartition(1000n, params).keep).toBe(true);
  });

  it('refuses parameters without a meaning', () => {
    expect(() => makePartitionSelection({ maxPartitionsPerSubject: 0, epsilon: 1, delta: 0.01 })).toThrow(PrivacyParameterError);
    expect(() => makePartitionSelection({ maxPartitionsPerSubject: 1, epsilon: 1, delta: 0 })).toThrow(PrivacyParameterError);
    expect(() => makePartitionSelection({ maxPartitionsPerSubject: 1, epsilon: 0, delta: 0.01 })).toThrow(PrivacyParameterError);
  });
});
