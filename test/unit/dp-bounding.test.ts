/**
 * The bounding stage's stability maps: how far one data subject can move each statistic. Too small a
 * sensitivity means too little noise for the ε charged, so each is pinned exactly, with the SQL it pairs with and
 * the refusals of the bounds and contribution limits it rests on.
 */
import { describe, expect, it } from 'vitest';
import { chain, makeBoundedCount, makeBoundedSum, makeBoundedSumOfSquares } from '../../src/dp/bounding.ts';
import { PrivacyParameterError } from '../../src/dp/rational.ts';

describe('the bounding stage', () => {
  it('counts rows at sensitivity k: one subject adds or removes k of them', () => {
    expect(makeBoundedCount({ k: 1 })).toMatchObject({ sensitivity: 1n, scale: 1 });
    const count = makeBoundedCount({ k: 3 });
    expect(count).toMatchObject({ sensitivity: 3n, scale: 1 });
    expect(count.sql('ignored')).toBe('count(*)');
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('refuses the contribution bound k = %s', (k) => {
    const refused = () => makeBoundedCount({ k });
    expect(refused).toThrow(PrivacyParameterError);
    expect(refused).toThrow(`the contribution bound k must be a positive integer, got ${k}`);
    expect(() => makeBoundedSum({ k, bounds: [0, 1], precision: 0 })).toThrow(PrivacyParameterError);
  });

  it.each([
    [Number.NaN, 1],
    [0, Number.POSITIVE_INFINITY],
    [Number.NEGATIVE_INFINITY, 0],
    [2, 1],
  ])('refuses the bounds [%s, %s]', (lower, upper) => {
    const message = `bounds must be finite with lower ≤ upper, got [${lower}, ${upper}]`;
    expect(() => makeBoundedSum({ k: 1, bounds: [lower, upper], precision: 0 })).toThrow(message);
    expect(() => makeBoundedSumOfSquares({ k: 1, bounds: [lower, upper], precision: 0 })).toThrow(message);
  });

  it('sums values in units of 10^-precision at sensitivity k·max(|lower|, |upper|), rounded as SQL rounds', () => {
    const sum = makeBoundedSum({ k: 2, bounds: [-30, 20], precision: 2 });
    expect(sum).toMatchObject({ sensitivity: 6000n, scale: 100 });
    expect(sum.sql('x')).toBe('sum(round(x * 100))');
    // 3.75 is 37.5 tenths: half away from zero, 38.
    expect(makeBoundedSum({ k: 3, bounds: [-1.25, 3.75], precision: 1 })).toMatchObject({ sensitivity: 114n, scale: 10 });
    expect(makeBoundedSum({ k: 1, bounds: [5, 5], precision: 0 })).toMatchObject({ sensitivity: 5n, scale: 1 });
  });

  it('sums squares about the middle of the bounds at sensitivity k·(U − L)², in units of 4·scale²', () => {
    // -1.25 and 3.75 in tenths, halves away from zero: -13 and 38; the middle 25/20 = 1.25.
    const squares = makeBoundedSumOfSquares({ k: 3, bounds: [-1.25, 3.75], precision: 1 });
    expect(squares).toMatchObject({ sensitivity: 3n * 51n * 51n, scale: 400, centre: 1.25 });
    expect(squares.sql('x')).toBe('sum((2 * round(x * 10) - 25) * (2 * round(x * 10) - 25))');
    const whole = makeBoundedSumOfSquares({ k: 1, bounds: [0, 100], precision: 0 });
    expect(whole).toMatchObject({ sensitivity: 10000n, scale: 4, centre: 50 });
    expect(whole.sql('v')).toBe('sum((2 * round(v * 1) - 100) * (2 * round(v * 1) - 100))');
  });

  it('hands the statistic’s sensitivity to the measurement', () => {
    expect(chain(makeBoundedSum({ k: 2, bounds: [0, 7], precision: 0 }), (sensitivity) => ({ sensitivity }))).toEqual({ sensitivity: 14n });
  });
});
