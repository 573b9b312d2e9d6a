/**
 * Survivors of the masking mutation run (docs/testing.md) that weakened a guarantee, each killed by the property
 * it broke: format-preserving tokens replace every character of their classes, at the class edges and beyond
 * the first 32 positions; invisible characters never pass truncate_text; a value of exactly maxLength is kept.
 */
import { describe, expect, it } from 'vitest';
import { numberOf } from '../../src/masking/functions/values.ts';
import { compileMask, createMaskingKeys, type MaskContext } from '../../src/masking/mask-functions.ts';

const ctx: MaskContext = { keys: createMaskingKeys(new Uint8Array(32).fill(7), 'mk-test'), scope: 'customers.account' };
const tokenize = compileMask('tokenize_preserving_format', {}, ctx) as (value: string) => string;

describe('tokenize_preserving_format replaces every character of its classes', () => {
  it.each([
    ['0', /^[0-9]+$/],
    ['9', /^[0-9]+$/],
    ['A', /^[A-Z]+$/],
    ['Z', /^[A-Z]+$/],
    ['a', /^[a-z]+$/],
    ['z', /^[a-z]+$/],
  ])('a run of %s (a class edge) becomes other characters of the same class', (edge, sameClass) => {
    const input = edge.repeat(24);
    const token = tokenize(input);
    expect(token).toMatch(sameClass);
    // Each position is replaced independently: keeping all 24 by chance has probability ≤ 10⁻²⁴.
    expect(token).not.toBe(input);
  });

  it('keeps the characters just outside each class exactly', () => {
    const neighbours = '/:@[`{ -.';
    expect(tokenize(neighbours)).toBe(neighbours);
    expect(tokenize(`${neighbours}5`).slice(0, neighbours.length)).toBe(neighbours);
  });

  it('draws fresh keyed randomness past the first 32 positions (the HMAC is 32 bytes)', () => {
    const input = '7'.repeat(200);
    const token = tokenize(input);
    expect(token).toHaveLength(200);
    expect(token).toMatch(/^[0-9]+$/);
    // Past 32 the stream extends by HMAC blocks: every block of 32 looks random, none is constant.
    for (let start = 32; start < 200; start += 32) expect(new Set(token.slice(start, start + 32)).size).toBeGreaterThan(3);
    expect(tokenize(input)).toBe(token);
  });
});

describe('truncate_text', () => {
  const truncate = (maxLength: number) => compileMask('truncate_text', { maxLength }, ctx) as (value: string) => string;

  it('removes format characters (bidi overrides, zero-width) and turns line and paragraph separators into spaces', () => {
    expect(truncate(50)('pay\u202Eevil\u200Bto')).toBe('payevilto');
    expect(truncate(50)('a\u2028b\u2029c\u000Bd\u0085e')).toBe('a b c d e');
    expect(truncate(50)('a\u0007b')).toBe('ab');
    expect(truncate(50)('plain text')).toBe('plain text');
  });

  it.each([
    ['only format characters', '\u200B\u202E\u2066'],
    ['only a control character', '\u0007'],
    ['only a zero-width space', '\u200B'],
  ])('leaves nothing of a value made of %s', (_what, value) => {
    expect(truncate(50)(value)).toBe('');
  });

  it('keeps a value of exactly maxLength whole and cuts one longer', () => {
    expect(truncate(5)('abcde')).toBe('abcde');
    expect(truncate(5)('abcdef')).toBe('abcd…');
  });
});

describe('numeric text a number mask accepts', () => {
  it.each(['.55', '-.5', '1e10', '2.5E-3', '+12', '7.'])('reads %s as a number', (text) => {
    expect(numberOf('noise_number', text)).toBe(Number(text));
  });
  it.each(['1e', '.', '1..2', '0x10', ' 1', ''])('refuses %j', (text) => {
    expect(() => numberOf('noise_number', text)).toThrow(/a number or numeric string/);
  });
});

describe('pseudonymize is stable across releases', () => {
  // Tokens are stored by agents and joined on (equality lookups, k-anonymity): the same key and scope must give
  // the same token in every version. These were computed once; a change to the encoding (base32 of the HMAC's
  // leading bytes) that alters them breaks every token an agent holds.
  it('gives the known tokens for a fixed key and scope', () => {
    const pseudonymize = compileMask('pseudonymize', {}, { ...ctx, scope: 'customers.customer_id' });
    expect(pseudonymize('cus_0001')).toBe('psn_epb2lop2vm2sv6alqsmucw6r5m');
    expect(pseudonymize('alice@example.com')).toBe('psn_wcnmx4jyj3oyyxbxf6y762enx4');
  });
});

describe('phone shows a country code only when the number is written with +', () => {
  it('masks every digit of a national number, even one that starts like a country code', () => {
    const phone = compileMask('phone', { keepCountryCode: true, keepLast: 0 }, ctx);
    expect(phone('1234567890')).toBe('**********');
    expect(phone('6512345678')).toBe('**********');
    expect(phone('+1 234 567 890')).toBe('+1 *** *** ***');
  });

  it('shows no digit before a + written inside the number, and the code after blanks that lead it', () => {
    const phone = compileMask('phone', {}, ctx);
    expect(phone('030 1234+5678')).toBe('*** ****+5678');
    expect(phone('  +49 30 12345678')).toBe('  +49 ** ****5678');
  });
});

describe('partial keeps whole characters, however many it keeps', () => {
  it('keeps several emoji at either end as characters, never as a list', () => {
    expect(compileMask('partial', { keepFirst: 2, keepLast: 2 }, ctx)('😀😁abc😂🤣')).toBe('😀😁***😂🤣');
  });
});
