/** The parameters a measurement refuses, each by the name the caller gave it, and fixed-point units' range. */
import { describe, expect, it } from 'vitest';
import { makeDiscreteGaussian, makeDiscreteLaplace, makeFixedPoint } from '../../src/dp/mechanisms.ts';

describe('measurement parameters', () => {
  it('names the parameter a discrete Laplace or Gaussian refuses', () => {
    expect(() => makeDiscreteLaplace({ sensitivity: 0, epsilon: 1 })).toThrow('sensitivity must be > 0, got 0');
    expect(() => makeDiscreteLaplace({ sensitivity: 1, epsilon: 0 })).toThrow('epsilon must be a finite number > 0, got 0');
    expect(() => makeDiscreteGaussian({ sensitivity: 1.5, rho: 1 })).toThrow('sensitivity must be an integer, got 1.5');
    expect(() => makeDiscreteGaussian({ sensitivity: 1, rho: -1 })).toThrow('rho must be a finite number > 0, got -1');
  });

  it('keeps 0 to 30 decimals in fixed-point units, and refuses more', () => {
    const thirty = makeFixedPoint(30);
    expect(thirty.toUnits('0.000000000000000000000000000001')).toBe(1n);
    expect(thirty.fromUnits(-1n)).toBe('-0.000000000000000000000000000001');
    expect(makeFixedPoint(0).fromUnits(0n)).toBe('0');
    for (const decimals of [31, -1, 1.5]) expect(() => makeFixedPoint(decimals)).toThrow(`decimals must be an integer in [0, 30], got ${decimals}`);
  });
});
