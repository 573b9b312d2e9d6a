import { describe, expect, it } from 'vitest';
import { makeDiscreteGaussian, makeDiscreteLaplace, makeFixedPoint } from '../../src/dp/mechanisms.ts';
import { discreteGaussianNoise, type IntegerNoise } from '../../src/dp/noise.ts';
import { PrivacyParameterError, rational } from '../../src/dp/rational.ts';
import { REJECT_BELOW, draw, gaussianPmf, goodnessOfFit, laplacePmf, withinBinomial } from './dp-statistics.ts';

/** Variance, E|Y| and P[|Y| ≤ k] of a reference pmf, by direct summation. */
function moments(pmf: (y: number) => number, reach: number) {
  let variance = 0;
  let meanAbsolute = 0;
  for (let y = -reach; y <= reach; y++) {
    variance += y * y * pmf(y);
    meanAbsolute += Math.abs(y) * pmf(y);
  }
  const massWithin = (k: number) => {
    let mass = 0;
    for (let y = -k; y <= k; y++) mass += pmf(y);
    return mass;
  };
  return { variance, meanAbsolute, massWithin };
}

function expectNoiseMatches(noise: IntegerNoise, pmf: (y: number) => number, reach: number) {
  const reference = moments(pmf, reach);
  expect(noise.variance / reference.variance).toBeCloseTo(1, 9);
  expect(noise.meanAbsoluteError / reference.meanAbsolute).toBeCloseTo(1, 9);
  for (const y of [0, 1, 3, Math.round(noise.scale * 2)]) expect(noise.pmf(y) / pmf(y)).toBeCloseTo(1, 9);
  const k = noise.halfWidth(0.95);
  expect(reference.massWithin(k)).toBeGreaterThanOrEqual(0.95);
  expect(reference.massWithin(k - 1)).toBeLessThan(0.95);
  expect(noise.massWithin(k)).toBeCloseTo(reference.massWithin(k), 9);
}

describe('makeDiscreteLaplace', () => {
  it('has scale exactly sensitivity/ε, read from ε as a decimal', () => {
    const mechanism = makeDiscreteLaplace({ sensitivity: 3, epsilon: 0.3 });
    expect(mechanism.scale).toEqual(rational(10n));
    expect(mechanism.cost).toEqual({ epsilon: 0.3, delta: 0 });
    expect(makeDiscreteLaplace({ sensitivity: 7n, epsilon: 0.7 }).scale).toEqual(rational(10n));
    expect(makeDiscreteLaplace({ sensitivity: 1, epsilon: 3 }).scale).toEqual(rational(1n, 3n));
  });

  it.each([
    [{ sensitivity: 1, epsilon: 0 }],
    [{ sensitivity: 1, epsilon: -1 }],
    [{ sensitivity: 1, epsilon: Number.NaN }],
    [{ sensitivity: 1, epsilon: Infinity }],
    [{ sensitivity: 1.5, epsilon: 1 }],
    [{ sensitivity: 0, epsilon: 1 }],
  ])('refuses %o', (params) => {
    expect(() => makeDiscreteLaplace(params)).toThrow(PrivacyParameterError);
  });

  it.each([
    ['1/2', 0.5],
    ['7/3', 7 / 3],
    ['20', 20],
  ])('reports the exact noise numbers for scale %s', (_label, b) => {
    expectNoiseMatches(makeDiscreteLaplace({ sensitivity: 1, epsilon: 1 / b }).noise, laplacePmf(b), 50_000);
  });

  it('releases the true value plus discrete Laplace noise of scale Δ/ε', () => {
    const mechanism = makeDiscreteLaplace({ sensitivity: 3, epsilon: 0.5 });
    const noise = draw(() => mechanism.release(1000n) - 1000n, 100_000);
    expect(goodnessOfFit(noise, laplacePmf(6)).pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it.each([0.5, 1, 2])('has the theoretical variance within a tenth at ε = %d', (epsilon) => {
    const mechanism = makeDiscreteLaplace({ sensitivity: 1, epsilon });
    const outputs = draw(() => mechanism.release(0n), 40_000).map(Number);
    const variance = outputs.reduce((sum, x) => sum + x * x, 0) / outputs.length;
    expect(variance / mechanism.noise.variance).toBeGreaterThan(0.9);
    expect(variance / mechanism.noise.variance).toBeLessThan(1.1);
  });

  it('bounds the output pmf ratio of neighbouring inputs by e^ε, with full support', () => {
    const epsilon = 0.5;
    const mechanism = makeDiscreteLaplace({ sensitivity: 2, epsilon });
    const v = 10;
    for (let y = v - 200; y <= v + 200; y++) {
      const here = mechanism.noise.pmf(y - v);
      const neighbour = mechanism.noise.pmf(y - v - 2);
      expect(here).toBeGreaterThan(0);
      expect(neighbour).toBeGreaterThan(0);
      expect(Math.abs(Math.log(here / neighbour))).toBeLessThanOrEqual(epsilon + 1e-12);
    }
    const seen = new Set(draw(() => mechanism.release(BigInt(v)), 20_000));
    for (let y = v - 6; y <= v + 8; y++) expect(seen.has(BigInt(y))).toBe(true);
  });
});

describe('makeDiscreteGaussian', () => {
  it('has σ² exactly Δ²/(2ρ)', () => {
    const mechanism = makeDiscreteGaussian({ sensitivity: 3, rho: 0.3 });
    expect(mechanism.sigma2).toEqual(rational(15n));
    expect(mechanism.cost).toEqual({ rho: 0.3 });
    expect(makeDiscreteGaussian({ sensitivity: 1, rho: 0.5 }).sigma2).toEqual(rational(1n));
    expect(() => makeDiscreteGaussian({ sensitivity: 1, rho: 0 })).toThrow(PrivacyParameterError);
  });

  it.each([0.5, 2, 100])('reports the exact noise numbers for σ² = %d', (sigma2) => {
    expectNoiseMatches(makeDiscreteGaussian({ sensitivity: 1, rho: 1 / (2 * sigma2) }).noise, gaussianPmf(sigma2), 50_000);
  });

  it('computes the numbers in closed form for large σ as the direct sums would', () => {
    for (const sigma of [1001, 2000, 7777]) {
      const sigma2 = sigma * sigma;
      expectNoiseMatches(discreteGaussianNoise(rational(BigInt(sigma2))), gaussianPmf(sigma2), 100_000);
    }
  });

  it('gives intervals for huge σ (scaled sums) near the normal quantile', () => {
    const mechanism = makeDiscreteGaussian({ sensitivity: 1_000_000, rho: 0.01 });
    const sigma = mechanism.noise.scale;
    expect(sigma).toBeCloseTo(1_000_000 / Math.sqrt(0.02), 3);
    const interval = mechanism.interval(0n, 0.95);
    // P[|Y| ≤ k] ≈ P[|X| ≤ k + 1/2] for the continuous normal X with the same σ.
    expect(Math.abs(Number(interval.upper) + 0.5 - 1.959963984540054 * sigma)).toBeLessThan(1);
    expect(interval.lower).toBe(-interval.upper);
  });

  it('releases the true value plus discrete Gaussian noise of σ² = Δ²/(2ρ)', () => {
    const mechanism = makeDiscreteGaussian({ sensitivity: 2, rho: 0.1 });
    const noise = draw(() => mechanism.release(-50n) + 50n, 100_000);
    expect(goodnessOfFit(noise, gaussianPmf(20)).pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it.each([
    [1, 0.5],
    [5, 0.1],
  ])('has the theoretical variance within a tenth (Δ = %d, ρ = %d)', (sensitivity, rho) => {
    const mechanism = makeDiscreteGaussian({ sensitivity, rho });
    const outputs = draw(() => mechanism.release(0n), 40_000).map(Number);
    const variance = outputs.reduce((sum, x) => sum + x * x, 0) / outputs.length;
    expect(variance / mechanism.noise.variance).toBeGreaterThan(0.9);
    expect(variance / mechanism.noise.variance).toBeLessThan(1.1);
  });

  it('gives neighbouring inputs the same (full) support', () => {
    const mechanism = makeDiscreteGaussian({ sensitivity: 4, rho: 0.5 });
    for (let y = -60; y <= 60; y++) {
      expect(mechanism.noise.pmf(y)).toBeGreaterThan(0);
      expect(mechanism.noise.pmf(y - 4)).toBeGreaterThan(0);
    }
  });
});

describe('intervals', () => {
  it.each([
    ['discrete Laplace', makeDiscreteLaplace({ sensitivity: 1, epsilon: 0.1 })],
    ['discrete Gaussian', makeDiscreteGaussian({ sensitivity: 1, rho: 0.02 })],
    ['discrete Laplace, small scale', makeDiscreteLaplace({ sensitivity: 1, epsilon: 2 })],
  ])('%s: the 0.95 interval is the smallest symmetric one and covers as computed', (_name, mechanism) => {
    const trials = 20_000;
    const truth = 12_345n;
    let covered = 0;
    let coverage = 0;
    for (let i = 0; i < trials; i++) {
      const interval = mechanism.interval(mechanism.release(truth));
      coverage = interval.coverage;
      expect(interval.upper - interval.lower).toBe(2n * BigInt(mechanism.noise.halfWidth(0.95)));
      if (interval.lower <= truth && truth <= interval.upper) covered += 1;
    }
    const k = mechanism.noise.halfWidth(0.95);
    expect(coverage).toBeGreaterThanOrEqual(0.95);
    expect(mechanism.noise.massWithin(k - 1)).toBeLessThan(0.95);
    expect(withinBinomial(covered, trials, coverage)).toBe(true);
  });

  it('refuses a confidence outside (0, 1)', () => {
    expect(() => makeDiscreteLaplace({ sensitivity: 1, epsilon: 1 }).interval(0n, 1)).toThrow(PrivacyParameterError);
  });
});

describe('makeFixedPoint', () => {
  const cents = makeFixedPoint(2);

  it('scales decimals to integer units, halves away from zero', () => {
    expect(cents.toUnits('12.345')).toBe(1235n);
    expect(cents.toUnits('-12.345')).toBe(-1235n);
    expect(cents.toUnits('12.344999')).toBe(1234n);
    expect(cents.toUnits(0.1)).toBe(10n);
    expect(cents.toUnits(1e-7)).toBe(0n);
    expect(cents.toUnits('99999999999999999.99')).toBe(9999999999999999999n);
    expect(makeFixedPoint(0).toUnits(2.5)).toBe(3n);
  });

  it('turns units back into exact decimal text', () => {
    expect(cents.fromUnits(-12345n)).toBe('-123.45');
    expect(cents.fromUnits(5n)).toBe('0.05');
    expect(cents.fromUnits(0n)).toBe('0.00');
    expect(makeFixedPoint(0).fromUnits(-7n)).toBe('-7');
  });

  it('refuses bad decimals and non-numbers', () => {
    expect(() => makeFixedPoint(-1)).toThrow(PrivacyParameterError);
    expect(() => cents.toUnits('12,5')).toThrow(PrivacyParameterError);
    expect(() => cents.toUnits(Number.NaN)).toThrow(PrivacyParameterError);
  });
});
