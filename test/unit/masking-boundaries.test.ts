import { describe, expect, it } from 'vitest';
import { compileMask, createMaskingKeys, MaskValueError, type MaskContext } from '../../src/masking/mask-functions.ts';
import { countryCodeLength } from '../../src/masking/functions/phone.ts';
import { calendarDateOf, keyInputOf, numberOf, parseIsoDatePrefix, textOrIntegerOf } from '../../src/masking/functions/values.ts';

// Exact outputs for inputs that sit on every character-class boundary: '/' and ':' around the digits, the
// first and last high surrogate, '@' first and last. A mask that shows one character too many fails here.
const ctx: MaskContext = { keys: createMaskingKeys(new Uint8Array(32).fill(7), 'mk-test'), scope: 'customers.contact' };
const mask = (name: string, params: unknown = {}) => compileMask(name, params, ctx);

describe('phone masks exactly the digits it must', () => {
  it.each([
    ['/0123456789:', {}, '/******6789:'],
    ['+65 9123 4567', {}, '+65 **** 4567'],
    ['+1 (555) 010-9999', {}, '+1 (***) ***-9999'],
    ['+358 40 1234567', {}, '+358 ** ***4567'],
    ['+65 9123 4567', { keepCountryCode: false }, '+** **** 4567'],
    ['+65 9123 4567', { keepLast: 0 }, '+65 **** ****'],
    ['+65 1234', {}, '+65 ****'],
    ['+65 1234', { keepLast: 3 }, '+65 *234'],
    ['0123', { maskChar: '#' }, '####'],
    ['x+65 12345', {}, 'x+** *2345'],
  ])('%s with %o is %s', (input, params, expected) => {
    expect(mask('phone', params)(input)).toBe(expected);
  });

  it('reads the country code from the leading + only, stopping at the first separator after a digit', () => {
    const cases: Array<[string, number]> = [
      ['+1 555', 1],
      ['+7 495', 1],
      ['+65 9123', 2],
      ['+6591234567', 2],
      ['+358401234', 3],
      [' + 44 20', 2],
      ['+4-4', 1],
      ['+', 0],
      ['65 9123', 0],
      ['x+65', 0],
      ['+/65', 2],
      ['+:65', 2],
      // No '+' at all, down to one character: nothing before a '+' to check, and still no code.
      ['7', 0],
      [' 5', 0],
    ];
    for (const [input, length] of cases) expect(countryCodeLength(input), input).toBe(length);
  });
});

describe('email masks the local part to three characters', () => {
  it.each([
    ['a@x.com', {}, '***@x.com'],
    ['ab@x.com', {}, 'a***@x.com'],
    ['ab@x.com', { keepFirst: false }, '***@x.com'],
    ['abcdef@x.com', { maskChar: '#' }, 'a###@x.com'],
    ['a@b@x.com', {}, 'a***@x.com'],
    ['@x.com', {}, '***'],
    ['ab@', {}, '***'],
    ['no-at-sign', {}, '***'],
    ['😀b@x.com', {}, '😀***@x.com'],
    ['😀@x.com', {}, '***@x.com'],
    ['\uD7FFb@x.com', {}, '\uD7FF***@x.com'],
    ['\uDBFF\uDFFFb@x.com', {}, '\uDBFF\uDFFF***@x.com'],
    ['\uDC00b@x.com', {}, '\uDC00***@x.com'],
    ['jo@Mail.Bank.CO.UK', { domain: 'suffix' }, 'j***@*.co.uk'],
    ['jo@a.example.org', { domain: 'suffix' }, 'j***@*.org'],
    ['jo@co.uk', { domain: 'suffix' }, 'j***@*.uk'],
    ['jo@localhost', { domain: 'suffix' }, 'j***@*.localhost'],
    ['jo@.uk', { domain: 'suffix' }, 'j***@*.uk'],
    ['jo@x.com', { domain: 'hide' }, 'j***@***'],
    ['jo@x.com', { domain: 'hide', maskChar: '#' }, 'j###@###'],
  ])('%s with %o is %s', (input, params, expected) => {
    expect(mask('email', params)(input)).toBe(expected);
  });

  it('passes null through and refuses a non-text value', () => {
    expect(mask('email')(null)).toBeNull();
    expect(() => mask('email')(42)).toThrow(MaskValueError);
  });
});

describe('a refused value', () => {
  // The operator finds the rule on the wrong column by the function's name; the value itself is the secret.
  const refusals: Array<[name: string, params: object, value: unknown]> = [
    ['age_from_birth_date', {}, 'not a date'],
    ['email', {}, 42],
    ['generalize_date', { to: 'year' }, 'not a date'],
    ['generalize_number', { width: 10 }, 'secret-42x'],
    ['hash', {}, { secret: 1 }],
    ['noise_number', { relative: 0.1 }, 'secret-42x'],
    ['partial', {}, 1.5],
    ['phone', {}, 42],
    ['pseudonymize', {}, { secret: 1 }],
    ['substitute', { dictionary: 'first_name' }, { secret: 1 }],
    ['tokenize_preserving_format', {}, 42],
    ['truncate_postal_code', {}, 1.5],
    ['truncate_text', { maxLength: 5 }, 42],
  ];
  it.each(refusals)('is refused by %s under its own name, never quoting the value', (name, params, value) => {
    const error = (() => {
      try {
        mask(name, params)(value);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(MaskValueError);
    expect((error as MaskValueError).functionName).toBe(name);
    expect((error as MaskValueError).message).toMatch(new RegExp(`^mask function '${name}': cannot mask a value of type \\w+; expected .+`));
    expect((error as MaskValueError).message).not.toContain('secret');
  });
});

describe('how masking functions read values', () => {
  it('reads numbers, bigints and numeric text, and nothing else', () => {
    const numbers: Array<[unknown, number]> = [
      [1.5, 1.5],
      [12n, 12],
      ['1.', 1],
      ['.5', 0.5],
      ['+1e-3', 0.001],
      ['-2E2', -200],
    ];
    for (const [value, number] of numbers) expect(numberOf('f', value), String(value)).toBe(number);
    // ['12'] reads as '12' to a regular expression: only text is text.
    for (const value of ['', '.', '1e', ' 1', '1 ', '1.2.3', 'abc', Number.NaN, Number.POSITIVE_INFINITY, true, null, ['12']]) {
      expect(() => numberOf('f', value), String(value)).toThrow(MaskValueError);
    }
  });

  it('reads text or safe integers as text', () => {
    expect(textOrIntegerOf('f', 'x')).toBe('x');
    expect(textOrIntegerOf('f', 42)).toBe('42');
    expect(textOrIntegerOf('f', 2n ** 70n)).toBe('1180591620717411303424');
    for (const value of [1.5, 2 ** 53, true, null]) expect(() => textOrIntegerOf('f', value), String(value)).toThrow(MaskValueError);
  });

  it('feeds keyed functions text, numbers, booleans and valid dates, and nothing else', () => {
    expect(keyInputOf('f', 'x')).toBe('x');
    expect(keyInputOf('f', 7n)).toBe('7');
    expect(keyInputOf('f', false)).toBe('false');
    expect(keyInputOf('f', 1.25)).toBe('1.25');
    expect(keyInputOf('f', new Date(Date.UTC(2024, 1, 29)))).toBe('2024-02-29T00:00:00.000Z');
    for (const value of [Number.NaN, Number.NEGATIVE_INFINITY, new Date(Number.NaN), {}, null, undefined]) {
      expect(() => keyInputOf('f', value), String(value)).toThrow(MaskValueError);
    }
  });

  it('reads a date prefix only when month and day are in range and every position is a digit', () => {
    expect(parseIsoDatePrefix('2024-12-31')).toEqual({ year: 2024, month: 12, day: 31 });
    expect(parseIsoDatePrefix('0000-01-01T10:00:00')).toEqual({ year: 0, month: 1, day: 1 });
    expect(parseIsoDatePrefix('9999-09-09 AD')).toEqual({ year: 9999, month: 9, day: 9 });
    for (const [text, day] of [
      ['2024-02-29', 29],
      ['2000-02-29', 29],
      ['2023-02-28', 28],
      ['2024-04-30', 30],
      ['2023-01-31', 31],
    ] as const) {
      expect(parseIsoDatePrefix(text)?.day, text).toBe(day);
    }
    for (const text of [
      '2024-00-10',
      '2024-13-01',
      '2024-01-00',
      '2024-01-32',
      '2024/01/01',
      '2024/01-01',
      '2024-01/01',
      '2023-02-29',
      '1900-02-29',
      '2024-02-30',
      '2024-01-0',
      '0001-01-01 BC',
      '2024-0/-01',
      '2024-0:-01',
      '/024-01-01',
      // A character below '0' where the digits around it would still make a valid date (19 9 4, 1 8).
      '20/4-01-01',
      '2024-01-2.',
    ]) {
      expect(parseIsoDatePrefix(text), text).toBeUndefined();
    }
  });

  it('reads a Date by its UTC calendar date, and refuses anything without a date', () => {
    expect(calendarDateOf('f', new Date('2024-03-01T00:30:00+01:00'))).toEqual({ year: 2024, month: 2, day: 29 });
    expect(calendarDateOf('f', '1999-12-31')).toEqual({ year: 1999, month: 12, day: 31 });
    for (const value of ['1999-12', new Date(Number.NaN), 19991231]) expect(() => calendarDateOf('f', value), String(value)).toThrow(MaskValueError);
  });
});
