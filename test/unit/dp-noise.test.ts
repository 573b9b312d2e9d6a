/**
 * What an answer reports about its noise (pmf, variance, mean absolute error, P[|Y| ≤ k], the half-width of
 * its interval), checked against sums taken term by term here. A half-width one too small is an interval that
 * holds the truth less often than it says; these are exact, so they are pinned exactly.
 */
import { describe, expect, it } from 'vitest';
import { discreteGaussianNoise, discreteLaplaceNoise, MAX_NOISE_SCALE, smallestInteger } from '../../src/dp/noise.ts';
import { PrivacyParameterError, rational, rationalFromNumber } from '../../src/dp/rational.ts';

/** P[Y = y] for y in [-n, n] from unnormalised weights, and what follows from them. */
function brute(weight: (y: number) => number, n: number) {
  let total = 0;
  for (let y = -n; y <= n; y++) total += weight(y);
  const pmf = (y: number) => weight(y) / total;
  const massWithin = (k: number) => {
    let mass = 0;
    for (let y = -k; y <= k; y++) mass += pmf(y);
    return mass;
  };
  let variance = 0;
  let absolute = 0;
  for (let y = -n; y <= n; y++) {
    variance += y * y * pmf(y);
    absolute += Math.abs(y) * pmf(y);
  }
  const halfWidth = (confidence: number) => {
    let k = 0;
    while (massWithin(k) < confidence) k++;
    return k;
  };
  return { pmf, massWithin, variance, absolute, halfWidth };
}

const CONFIDENCES = [0.5, 0.9, 0.95, 0.99];

describe('smallestInteger', () => {
  const from = (threshold: number) => (k: number) => k >= threshold;
  it.each([0, 1, 2, 10, 1000, 2 ** 60])('finds %s from any hint, above or below it', (threshold) => {
    for (const hint of [-5, 0, 0.5, 3, threshold, threshold * 4 + 7]) expect(smallestInteger(from(threshold), hint), `hint ${hint}`).toBe(threshold);
  });

  it('refuses a bound no finite integer meets', () => {
    expect(() => smallestInteger(() => false, 1)).toThrow(new PrivacyParameterError('no finite integer satisfies the noise bound'));
  });
});

describe('discrete Laplace noise', () => {
  const b = 2.5;
  const noise = discreteLaplaceNoise(rationalFromNumber(b));
  const exact = brute((y) => Math.exp(-Math.abs(y) / b), 400);

  it('reports its pmf, variance and mean absolute error', () => {
    expect(noise).toMatchObject({ kind: 'discrete-laplace', scale: b });
    for (const y of [0, 1, -1, 7, -30]) expect(noise.pmf(y)).toBeCloseTo(exact.pmf(y), 14);
    expect(noise.variance).toBeCloseTo(exact.variance, 10);
    expect(noise.meanAbsoluteError).toBeCloseTo(exact.absolute, 12);
  });

  it('reports P[|Y| ≤ k], none below 0, and the smallest half-width that holds each confidence', () => {
    expect(noise.massWithin(-1)).toBe(0);
    for (const k of [0, 1, 4, 20]) expect(noise.massWithin(k)).toBeCloseTo(exact.massWithin(k), 13);
    for (const confidence of CONFIDENCES) expect(noise.halfWidth(confidence), String(confidence)).toBe(exact.halfWidth(confidence));
  });

  it('draws integers', () => {
    expect(typeof noise.sample()).toBe('bigint');
  });
});

describe('discrete Gaussian noise', () => {
  it.each([0.25, 4, 90])('σ² = %s (summed term by term): pmf, variance, mean absolute error, mass and half-widths', (sigma2) => {
    const noise = discreteGaussianNoise(rationalFromNumber(sigma2));
    const exact = brute((y) => Math.exp(-(y * y) / (2 * sigma2)), 500);
    expect(noise).toMatchObject({ kind: 'discrete-gaussian', scale: Math.sqrt(sigma2) });
    for (const y of [0, 1, -2, 5]) expect(noise.pmf(y)).toBeCloseTo(exact.pmf(y), 14);
    expect(noise.variance).toBeCloseTo(exact.variance, 9);
    expect(noise.meanAbsoluteError).toBeCloseTo(exact.absolute, 11);
    expect(noise.massWithin(-1)).toBe(0);
    for (const k of [0, 1, 3, 12, 100]) expect(noise.massWithin(k)).toBeCloseTo(exact.massWithin(k), 12);
    for (const confidence of CONFIDENCES) expect(noise.halfWidth(confidence), String(confidence)).toBe(exact.halfWidth(confidence));
  });

  it('σ = 1500 (closed forms): the same numbers as the sums, to the ulps that matter', () => {
    const sigma2 = 1500 ** 2;
    const noise = discreteGaussianNoise(rationalFromNumber(sigma2));
    const exact = brute((y) => Math.exp(-(y * y) / (2 * sigma2)), 39 * 1500);
    expect(noise.scale).toBe(1500);
    expect(noise.variance).toBe(sigma2);
    expect(noise.meanAbsoluteError / exact.absolute).toBeCloseTo(1, 9);
    for (const y of [0, 1000, -4000]) expect(noise.pmf(y) / exact.pmf(y)).toBeCloseTo(1, 9);
    expect(noise.massWithin(-1)).toBe(0);
    expect(noise.massWithin(0)).toBeCloseTo(exact.pmf(0), 12);
    for (const k of [1, 10, 1500, 3000, 6000]) expect(noise.massWithin(k)).toBeCloseTo(exact.massWithin(k), 9);
    expect(noise.massWithin(1e9)).toBe(1);
    for (const confidence of CONFIDENCES)
      expect(Math.abs(noise.halfWidth(confidence) - exact.halfWidth(confidence)), String(confidence)).toBeLessThanOrEqual(1);
  });

  it('refuses a confidence outside (0, 1), either noise', () => {
    for (const noise of [discreteGaussianNoise(rational(4n)), discreteGaussianNoise(rational(4_000_000n)), discreteLaplaceNoise(rational(2n))]) {
      for (const confidence of [0, 1, -0.5, Number.NaN]) {
        expect(() => noise.halfWidth(confidence)).toThrow(new PrivacyParameterError(`confidence must be in (0, 1), got ${confidence}`));
      }
    }
  });

  it('accepts a noise scale up to 1e150 and refuses one past it', () => {
    expect(discreteLaplaceNoise(rationalFromNumber(MAX_NOISE_SCALE)).scale).toBe(1e150);
    expect(discreteGaussianNoise(rationalFromNumber(MAX_NOISE_SCALE ** 2)).scale).toBe(1e150);
    expect(() => discreteLaplaceNoise(rationalFromNumber(1e151))).toThrow(
      'noise scale 1e+151 exceeds 1e+150: epsilon or rho is too small for this sensitivity',
    );
    expect(() => discreteGaussianNoise(rationalFromNumber(1e302))).toThrow(PrivacyParameterError);
  });
});
