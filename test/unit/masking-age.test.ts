/** Dates in masks: age_from_birth_date counts whole years to today's UTC date (a birthday not yet reached this year does not count); generalize_date pads months. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ageOn } from '../../src/masking/functions/age-from-birth-date.ts';
import { compileMask, createMaskingKeys, getMaskFunction, type MaskContext } from '../../src/masking/mask-functions.ts';

const ctx: MaskContext = { keys: createMaskingKeys(new Uint8Array(32).fill(7), 'mk-test'), scope: 'customers.birth_date' };

describe('ageOn', () => {
  const today = { year: 2026, month: 6, day: 15 };
  it.each([
    [{ year: 1990, month: 6, day: 15 }, 36],
    [{ year: 1990, month: 6, day: 16 }, 35],
    [{ year: 1990, month: 6, day: 14 }, 36],
    [{ year: 1990, month: 7, day: 1 }, 35],
    [{ year: 1990, month: 5, day: 31 }, 36],
    [{ year: 2026, month: 6, day: 16 }, 0],
    [{ year: 2030, month: 1, day: 1 }, 0],
  ])('born %o is %i on 2026-06-15', (birth, age) => {
    expect(ageOn(birth, today)).toBe(age);
  });
});

describe("the mask reads today's UTC date and notices the day change", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const ageOf = compileMask('age_from_birth_date', { output: 'lower', width: 1 }, ctx) as (value: string) => number;

  it('turns a year older on the birthday itself, in UTC', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-09T23:59:59Z'));
    expect(ageOf('1990-03-10')).toBe(35);
    vi.setSystemTime(new Date('2026-03-10T00:00:00Z'));
    expect(ageOf('1990-03-10')).toBe(36);
    // The month matters as much as the day: born in February, the birthday has passed by March.
    expect(ageOf('1990-02-28')).toBe(36);
    expect(ageOf('1990-04-01')).toBe(35);
  });
});

describe('generalize_date to a month', () => {
  it('pads months 1–9 and only those', () => {
    const toMonth = compileMask('generalize_date', { to: 'month' }, ctx);
    expect(toMonth('1987-09-14')).toBe('1987-09');
    expect(toMonth('1987-10-14')).toBe('1987-10');
    expect(toMonth('1987-12-01')).toBe('1987-12');
  });
});

describe('age_from_birth_date parameters', () => {
  it('refuses a `today` that is not a calendar date, and bands given with a width', () => {
    expect(() => compileMask('age_from_birth_date', { today: '2026-13-01' }, ctx)).toThrow(/today/);
    for (const today of ['2026-02-30', '2026-02-29', '2100-02-29', '2026-04-31', '2026-12-32']) {
      expect(() => compileMask('age_from_birth_date', { today }, ctx), today).toThrow(/today/);
    }
    for (const today of ['2024-02-29', '2000-02-29', '2026-01-31', '2026-12-31'])
      expect(() => compileMask('age_from_birth_date', { today }, ctx)).not.toThrow();
    expect(() => compileMask('age_from_birth_date', { width: 10, bands: [{ max: 17, label: 'minor' }, { label: 'adult' }] }, ctx)).toThrow(/not both/);
  });

  it('gives an integer for `output: lower` and text for ranges', () => {
    const spec = getMaskFunction('age_from_birth_date');
    expect(spec.resultType({ output: 'lower' } as never, 'date')).toBe('int');
    expect(spec.resultType({ output: 'range' } as never, 'date')).toBe('text');
  });
});
