import { describe, expect, it } from 'vitest';
import {
  divide,
  floorOf,
  multiply,
  PrivacyParameterError,
  positiveInteger,
  positiveRational,
  rational,
  rationalFromDecimal,
  rationalFromNumber,
  roundHalfAwayFromZero,
  toNumber,
} from '../../src/dp/rational.ts';

const r = (num: bigint, den = 1n) => ({ num, den });

describe('exact rationals for privacy parameters', () => {
  it('keeps the sign in the numerator and the fraction in lowest terms', () => {
    expect(rational(6n, 4n)).toEqual(r(3n, 2n));
    expect(rational(-6n, 4n)).toEqual(r(-3n, 2n));
    expect(rational(6n, -4n)).toEqual(r(-3n, 2n));
    expect(rational(-6n, -4n)).toEqual(r(3n, 2n));
    expect(rational(0n, -5n)).toEqual(r(0n));
    expect(rational(7n)).toEqual(r(7n));
    expect(() => rational(1n, 0n)).toThrow(new PrivacyParameterError('rational with a zero denominator'));
    expect(new PrivacyParameterError('x').name).toBe('PrivacyParameterError');
  });

  it('reads a decimal exactly as it is written', () => {
    expect(rationalFromDecimal('12.5')).toEqual(r(25n, 2n));
    expect(rationalFromDecimal('-0.001')).toEqual(r(-1n, 1000n));
    expect(rationalFromDecimal(' +2. ')).toEqual(r(2n));
    expect(rationalFromDecimal('1e-7')).toEqual(r(1n, 10n ** 7n));
    expect(rationalFromDecimal('1.5E+21')).toEqual(r(15n * 10n ** 20n));
    expect(rationalFromDecimal('2.50e1')).toEqual(r(25n));
    for (const text of ['', 'abc', '.5', '1e', '1.2.3', '0x10', '1e+-2'])
      expect(() => rationalFromDecimal(text), text).toThrow(`not a decimal number: "${text}"`);
  });

  it('refuses a decimal exponent beyond ±400 before building the power of ten', () => {
    expect(rationalFromDecimal('1e400')).toEqual(r(10n ** 400n));
    expect(rationalFromDecimal('1e-400')).toEqual(r(1n, 10n ** 400n));
    // The digits after the point count towards the exponent: 0.5e-400 is 5·10^-401.
    // Without the guard, 1e999999999 would spend minutes building 10^999999999 as a BigInt: the test times out.
    for (const text of ['1e401', '1e-401', '0.5e-400', '1e999999999', '-1e-999999999']) {
      expect(() => rationalFromDecimal(text), text).toThrow(`decimal exponent out of range: "${text}"`);
    }
  });

  it('reads a number as the shortest decimal that prints it, and refuses non-finite ones', () => {
    expect(rationalFromNumber(0.1)).toEqual(r(1n, 10n));
    expect(rationalFromNumber(1e21)).toEqual(r(10n ** 21n));
    expect(rationalFromNumber(-2.5e-7)).toEqual(r(-1n, 4n * 10n ** 6n));
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => rationalFromNumber(value)).toThrow(/not a finite number/);
    }
  });

  it('accepts only strictly positive finite parameters', () => {
    expect(positiveRational('epsilon', 0.25)).toEqual(r(1n, 4n));
    expect(positiveRational('epsilon', Number.MIN_VALUE)).toEqual(r(1n, 2n * 10n ** 323n));
    for (const value of [0, -0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => positiveRational('epsilon', value), String(value)).toThrow(`epsilon must be a finite number > 0, got ${value}`);
    }
  });

  it('accepts only strictly positive safe integers as integer parameters', () => {
    expect(positiveInteger('k', 1)).toBe(1n);
    expect(positiveInteger('k', 2n ** 60n)).toBe(2n ** 60n);
    expect(positiveInteger('k', Number.MAX_SAFE_INTEGER)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    for (const value of [1.5, 2 ** 53, Number.NaN]) expect(() => positiveInteger('k', value), String(value)).toThrow(`k must be an integer, got ${value}`);
    for (const value of [0, -3, 0n, -1n]) expect(() => positiveInteger('k', value), String(value)).toThrow(`k must be > 0, got ${value}`);
  });

  it('multiplies, divides, floors and rounds exactly', () => {
    expect(multiply(r(2n, 3n), r(9n, 4n))).toEqual(r(3n, 2n));
    expect(divide(r(2n, 3n), r(-4n, 9n))).toEqual(r(-3n, 2n));
    const floors: Array<[bigint, bigint, bigint]> = [
      [7n, 2n, 3n],
      [-7n, 2n, -4n],
      [-4n, 2n, -2n],
      [0n, 1n, 0n],
      [-1n, 3n, -1n],
    ];
    for (const [num, den, floor] of floors) expect(floorOf(rational(num, den)), `${num}/${den}`).toBe(floor);
    const rounded: Array<[bigint, bigint, bigint]> = [
      [5n, 2n, 3n],
      [-5n, 2n, -3n],
      [1n, 2n, 1n],
      [-1n, 2n, -1n],
      [7n, 3n, 2n],
      [-7n, 3n, -2n],
      [8n, 3n, 3n],
      [0n, 1n, 0n],
    ];
    for (const [num, den, nearest] of rounded) expect(roundHalfAwayFromZero(rational(num, den)), `${num}/${den}`).toBe(nearest);
  });

  it('converts to the nearest double, even when numerator and denominator overflow a double', () => {
    expect(toNumber(r(1n, 3n))).toBe(1 / 3);
    expect(toNumber(r(-5n, 2n))).toBe(-2.5);
    expect(toNumber(r(2n ** 1100n, 2n ** 1099n))).toBe(2);
    expect(toNumber(r(10n * 7n ** 500n, 3n * 7n ** 500n))).toBeCloseTo(10 / 3, 12);
    expect(toNumber(r(7n ** 500n, 3n * 7n ** 490n))).toBeCloseTo(7 ** 10 / 3, 0);
    expect(toNumber(r(3n * 7n ** 490n, 7n ** 500n))).toBeCloseTo(3 / 7 ** 10, 20);
    expect(toNumber(r(0n))).toBe(0);
    // A finite numerator over an overflowing denominator (0 as plain doubles), and the reverse (plain is exact).
    expect(toNumber(r(2n ** 1000n, 2n ** 1100n))).toBe(2 ** -100);
    expect(toNumber(r(2n ** 1000n, 3n))).toBe(2 ** 1000 / 3);
  });
});
