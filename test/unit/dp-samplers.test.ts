import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rational } from '../../src/dp/rational.ts';
import { makeDiscreteGaussianSampler, makeDiscreteLaplaceSampler, sampleBernoulli, sampleBernoulliExp, uniformBelow } from '../../src/dp/samplers.ts';
import { REJECT_BELOW, draw, gaussianPmf, goodnessOfFit, laplacePmf } from './dp-statistics.ts';

const DRAWS = 200_000;

const bernoulliPmf = (p: number) => (y: number) => (y === 1 ? p : y === 0 ? 1 - p : 0);

function uniformUnit(): number {
  return (Number(uniformBelow(2n ** 53n)) + 0.5) / 2 ** 53;
}

describe('uniformBelow', () => {
  it.each([
    ['a small range', 7n, 1n],
    ['a range between 2^32 and 2^53', 3n * 2n ** 40n, 2n ** 40n],
    ['a range just above a power of two', 2n ** 40n + 2n ** 39n, 2n ** 39n],
    ['a range beyond 2^53', 3n * 2n ** 70n, 2n ** 70n],
  ])('is uniform over %s', (_name, n, blockSize) => {
    const blocks = Number(n / blockSize);
    const samples = draw(() => uniformBelow(n), DRAWS);
    expect(samples.every((x) => x >= 0n && x < n)).toBe(true);
    const fit = goodnessOfFit(
      samples.map((x) => x / blockSize),
      (y) => (y >= 0 && y < blocks ? 1 / blocks : 0),
    );
    expect(fit.bins).toBe(blocks);
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it('rejects an empty range', () => {
    expect(() => uniformBelow(0n)).toThrow(/n > 0/);
  });
});

describe('Bernoulli samplers', () => {
  it('Bernoulli(p) matches p = 3/7 and is exact at 0 and 1', () => {
    const fit = goodnessOfFit(
      draw(() => (sampleBernoulli(rational(3n, 7n)) ? 1n : 0n), DRAWS),
      bernoulliPmf(3 / 7),
    );
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
    expect(draw(() => (sampleBernoulli(rational(0n)) ? 1n : 0n), 1000).every((x) => x === 0n)).toBe(true);
    expect(draw(() => (sampleBernoulli(rational(1n)) ? 1n : 0n), 1000).every((x) => x === 1n)).toBe(true);
    expect(() => sampleBernoulli(rational(4n, 3n))).toThrow(/0 ≤ p ≤ 1/);
  });

  it.each([
    [1, 3],
    [1, 1],
    [5, 2],
    [7, 1],
    [100, 37],
  ])('Bernoulli(exp(-%i/%i)) matches exp(-γ)', (num, den) => {
    const gamma = rational(BigInt(num), BigInt(den));
    const fit = goodnessOfFit(
      draw(() => (sampleBernoulliExp(gamma) ? 1n : 0n), DRAWS),
      bernoulliPmf(Math.exp(-num / den)),
    );
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it('Bernoulli(exp(0)) always succeeds and a negative γ is refused', () => {
    expect(draw(() => (sampleBernoulliExp(rational(0n)) ? 1n : 0n), 1000).every((x) => x === 1n)).toBe(true);
    expect(() => sampleBernoulliExp(rational(-1n, 2n))).toThrow(/γ ≥ 0/);
  });
});

describe('discrete Laplace sampler', () => {
  it.each([
    [1, 2],
    [1, 1],
    [7, 3],
    [20, 1],
    [1000, 1],
  ])('matches the exact pmf for scale %i/%i', (num, den) => {
    const samples = draw(makeDiscreteLaplaceSampler(rational(BigInt(num), BigInt(den))), DRAWS);
    const fit = goodnessOfFit(samples, laplacePmf(num / den));
    expect(fit.bins).toBeGreaterThan(2);
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it('refuses a non-positive scale', () => {
    expect(() => makeDiscreteLaplaceSampler(rational(0n))).toThrow(/scale > 0/);
  });
});

describe('discrete Gaussian sampler', () => {
  it.each([
    [1, 2],
    [2, 1],
    [7, 3],
    [100, 1],
  ])('matches the exact pmf for σ² = %i/%i', (num, den) => {
    const samples = draw(makeDiscreteGaussianSampler(rational(BigInt(num), BigInt(den))), DRAWS);
    const fit = goodnessOfFit(samples, gaussianPmf(num / den));
    expect(fit.bins).toBeGreaterThan(2);
    expect(fit.pValue).toBeGreaterThan(REJECT_BELOW);
  });

  it('refuses a non-positive variance', () => {
    expect(() => makeDiscreteGaussianSampler(rational(-1n))).toThrow(/σ² > 0/);
  });
});

describe('the goodness-of-fit test has power', () => {
  it('rejects a discrete Laplace whose scale is 10% off', () => {
    const samples = draw(makeDiscreteLaplaceSampler(rational(11n, 10n)), DRAWS);
    expect(goodnessOfFit(samples, laplacePmf(1)).pValue).toBeLessThan(REJECT_BELOW);
  });

  it('rejects a rounded continuous Laplace (inverse CDF in floating point)', () => {
    const roundedLaplace = () => {
      const magnitude = -Math.log(uniformUnit());
      return BigInt(Math.round(uniformUnit() < 0.5 ? -magnitude : magnitude));
    };
    expect(goodnessOfFit(draw(roundedLaplace, DRAWS), laplacePmf(1)).pValue).toBeLessThan(REJECT_BELOW);
  });

  it('rejects a discrete Gaussian whose σ² is 10% off', () => {
    const samples = draw(makeDiscreteGaussianSampler(rational(11n, 5n)), DRAWS);
    expect(goodnessOfFit(samples, gaussianPmf(2)).pValue).toBeLessThan(REJECT_BELOW);
  });

  it('rejects a rounded continuous Gaussian (Box–Muller)', () => {
    const sigma = Math.sqrt(0.5);
    const roundedGaussian = () => BigInt(Math.round(sigma * Math.sqrt(-2 * Math.log(uniformUnit())) * Math.cos(2 * Math.PI * uniformUnit())));
    expect(goodnessOfFit(draw(roundedGaussian, DRAWS), gaussianPmf(0.5)).pValue).toBeLessThan(REJECT_BELOW);
  });

  it('rejects a biased coin at 0.50 vs 0.51', () => {
    const coin = () => (sampleBernoulli(rational(51n, 100n)) ? 1n : 0n);
    expect(goodnessOfFit(draw(coin, 1_000_000), bernoulliPmf(0.5)).pValue).toBeLessThan(REJECT_BELOW);
  });
});

describe('one entropy source', () => {
  it('no DP module calls Math.random, and samplers.ts draws only from node:crypto', () => {
    const folder = new URL('../../src/dp/', import.meta.url);
    for (const file of readdirSync(folder)) {
      expect(readFileSync(new URL(file, folder), 'utf8'), file).not.toMatch(/Math\.random/);
    }
    const samplers = readFileSync(new URL('samplers.ts', folder), 'utf8');
    expect([...samplers.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1])).toEqual(['node:crypto', './rational.ts']);
  });
});
