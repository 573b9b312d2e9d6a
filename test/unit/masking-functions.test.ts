import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileMask, createMaskingKeys, MaskValueError, type MaskContext } from '../../src/masking/mask-functions.ts';
import { DICTIONARIES } from '../../src/masking/functions/dictionaries.ts';
import { base32 } from '../../src/masking/functions/pseudonymize.ts';

const SECRET = new Uint8Array(32).map((_, i) => 255 - i);
const ctx: MaskContext = { keys: createMaskingKeys(SECRET, 'mk-test'), scope: 'customers.national_id' };
const otherKeyCtx: MaskContext = {
  keys: createMaskingKeys(
    SECRET.map((b) => b ^ 0x5a),
    'mk-other',
  ),
  scope: ctx.scope,
};

function mask(name: string, params: unknown = {}, context: MaskContext = ctx): (value: unknown) => unknown {
  return compileMask(name, params, context);
}

/** Reference HMAC of a keyed function, computed from the documented construction, not from our code. */
function referenceHmac(functionName: string, scope: string, text: string): Buffer {
  const key = Buffer.from(hkdfSync('sha256', SECRET, 'keyhole/masking/v1', JSON.stringify([functionName, scope]), 32));
  return createHmac('sha256', key).update(text).digest();
}

/** RFC 4648 base32 (lower case, unpadded) via a bit string: a second, independent implementation. */
function referenceBase32(bytes: Uint8Array): string {
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
  return (padded.match(/.{5}/g) ?? []).map((chunk) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(chunk, 2)]).join('');
}

/** Deterministic test inputs (a linear congruential generator: no flakiness). */
function* sequence(n: number, seed = 12345): Generator<number> {
  let state = seed;
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    yield state;
  }
}

const nricLike = (n: number) => [...sequence(n)].map((r) => `${'STFG'[r % 4]}${String(r % 10_000_000).padStart(7, '0')}${String.fromCharCode(65 + (r % 26))}`);

describe('clear, redact, nullify', () => {
  it('clear shows every value as is', () => {
    const date = new Date('2020-01-01T00:00:00Z');
    for (const value of ['x', 42, 10n, true, date, '']) expect(mask('clear')(value)).toBe(value);
  });

  it('redact replaces any non-null value by the marker', () => {
    expect(mask('redact')('secret')).toBe('[REDACTED]');
    expect(mask('redact')(42)).toBe('[REDACTED]');
    expect(mask('redact', { marker: '<hidden>' })('secret')).toBe('<hidden>');
    expect(mask('redact')(null)).toBeNull();
  });

  it('nullify always returns null', () => {
    for (const value of ['x', 0, false, new Date()]) expect(mask('nullify')(value)).toBeNull();
  });
});

describe('partial', () => {
  it('keeps the first and last characters asked for', () => {
    expect(mask('partial', { keepFirst: 2, keepLast: 3 })('S1234567D')).toBe('S1****67D');
    expect(mask('partial', { keepLast: 4, maskChar: '#' })('4111111111111111')).toBe('############1111');
    expect(mask('partial')('abc')).toBe('***');
  });

  it('masks a value entirely when keepFirst + keepLast would show all of it', () => {
    const partial = mask('partial', { keepFirst: 2, keepLast: 2 });
    expect(partial('abcd')).toBe('****');
    expect(partial('abc')).toBe('***');
    expect(partial('abcde')).toBe('ab*de');
    expect(partial('')).toBe('');
  });

  it('counts characters, not UTF-16 units, so emoji and CJK are never split', () => {
    expect(mask('partial', { keepFirst: 1, keepLast: 1 })('😀ab😀')).toBe('😀**😀');
    expect(mask('partial', { keepFirst: 1 })('陈伟明')).toBe('陈**');
    expect(mask('partial', { keepFirst: 1, maskChar: '•' })('Zoë')).toBe('Z••');
  });

  it('masks integers as their decimal text', () => {
    expect(mask('partial', { keepLast: 2 })(123456)).toBe('****56');
    expect(mask('partial', { keepLast: 2 })(9007199254740993n)).toBe('**************93');
  });
});

describe('email', () => {
  it('keeps the first character and the domain by default, hiding the local part length', () => {
    const email = mask('email');
    expect(email('jane.doe@example.com')).toBe('j***@example.com');
    expect(email('jo@example.com')).toBe('j***@example.com');
  });

  it('never shows a one-character local part', () => {
    expect(mask('email')('j@example.com')).toBe('***@example.com');
  });

  it('generalises the domain to its public suffix, or hides it', () => {
    expect(mask('email', { domain: 'suffix' })('jane@Mail.Example.COM')).toBe('j***@*.com');
    expect(mask('email', { domain: 'suffix' })('jane@bank.co.uk')).toBe('j***@*.co.uk');
    expect(mask('email', { domain: 'suffix' })('tan@dbs.com.sg')).toBe('t***@*.com.sg');
    expect(mask('email', { domain: 'suffix' })('tan@com.sg')).toBe('t***@*.sg');
    expect(mask('email', { domain: 'suffix' })('root@localhost')).toBe('r***@*.localhost');
    expect(mask('email', { domain: 'hide', keepFirst: false })('jane@example.com')).toBe('***@***');
  });

  it('splits at the last @ and fully masks values that are not addresses', () => {
    expect(mask('email')('"a@b"@example.com')).toBe('"***@example.com');
    expect(mask('email')('not-an-email')).toBe('***');
    expect(mask('email')('@example.com')).toBe('***');
    expect(mask('email')('jane@')).toBe('***');
  });

  it('keeps a non-BMP first character whole', () => {
    expect(mask('email')('😀x@example.com')).toBe('😀***@example.com');
    expect(mask('email')('😀@example.com')).toBe('***@example.com');
  });
});

describe('phone', () => {
  it('keeps the country code and the last 4 digits, and the separators', () => {
    expect(mask('phone')('+65 9123 4567')).toBe('+65 **** 4567');
    expect(mask('phone')('+1 (415) 555-0100')).toBe('+1 (***) ***-0100');
    expect(mask('phone')('+852 2123 4567')).toBe('+852 **** 4567');
  });

  it('finds the country code without a separator from the E.164 code lengths', () => {
    expect(mask('phone')('+6591234567')).toBe('+65****4567');
    expect(mask('phone')('+14155550100')).toBe('+1******0100');
    expect(mask('phone')('+85221234567')).toBe('+852****4567');
    expect(mask('phone')('+919876543210')).toBe('+91******3210');
  });

  it('keeps no country code in national format, or when asked not to', () => {
    expect(mask('phone')('9123 4567')).toBe('**** 4567');
    expect(mask('phone', { keepCountryCode: false, keepLast: 2 })('+65 9123 4567')).toBe('+** **** **67');
  });

  it('masks the whole subscriber number when keepLast would reveal it', () => {
    expect(mask('phone')('+65 1234')).toBe('+65 ****');
    expect(mask('phone', { keepLast: 8 })('+65 9123 4567')).toBe('+65 **** ****');
  });
});

describe('pseudonymize', () => {
  it('is psn_ + base32 of the first 16 bytes of HMAC-SHA-256 under the (function, scope) subkey', () => {
    const expected = `psn_${referenceBase32(referenceHmac('pseudonymize', 'customers.national_id', 'S1234567D').subarray(0, 16))}`;
    expect(mask('pseudonymize')('S1234567D')).toBe(expected);
    expect(expected).toHaveLength(4 + 26);
  });

  it('encodes base32 as RFC 4648 (lower case, unpadded)', () => {
    const vectors = { '': '', f: 'my', fo: 'mzxq', foo: 'mzxw6', foob: 'mzxw6yq', fooba: 'mzxw6ytb', foobar: 'mzxw6ytboi' };
    for (const [text, encoded] of Object.entries(vectors)) expect(base32(Buffer.from(text), text.length)).toBe(encoded);
    for (const bytes of [...sequence(200)].map((r) => Buffer.from(String(r).repeat(3)))) {
      expect(base32(bytes, bytes.length)).toBe(referenceBase32(bytes));
    }
  });

  it('is stable for the same value, key and scope, and gives an int the same token as its text', () => {
    const a = mask('pseudonymize');
    const b = mask('pseudonymize');
    expect(a('S1234567D')).toBe(b('S1234567D'));
    expect(a(42)).toBe(a('42'));
    expect(a(42n)).toBe(a('42'));
  });

  it('gives unrelated tokens for another value, scope or key', () => {
    const tokens = new Set([
      mask('pseudonymize')('S1234567D'),
      mask('pseudonymize')('S1234567E'),
      mask('pseudonymize', { scope: 'customer' })('S1234567D'),
      mask('pseudonymize', {}, { keys: ctx.keys, scope: 'customers.id' })('S1234567D'),
      mask('pseudonymize', {}, otherKeyCtx)('S1234567D'),
    ]);
    expect(tokens.size).toBe(5);
  });

  it('lets two columns join when their rules name the same scope', () => {
    const onCustomers = mask('pseudonymize', { scope: 'customer' }, { keys: ctx.keys, scope: 'customers.id' });
    const onTransactions = mask('pseudonymize', { scope: 'customer' }, { keys: ctx.keys, scope: 'transactions.customer_id' });
    expect(onCustomers(1001)).toBe(onTransactions('1001'));
  });

  it('has no collisions over 20k values and uses a custom prefix', () => {
    const pseudonymize = mask('pseudonymize', { prefix: 'cust_' });
    const tokens = new Set(Array.from({ length: 20_000 }, (_, i) => pseudonymize(i)));
    expect(tokens.size).toBe(20_000);
    for (const token of [...tokens].slice(0, 100)) expect(token).toMatch(/^cust_[a-z2-7]{26}$/);
  });

  it('handles empty and unicode text', () => {
    expect(mask('pseudonymize')('')).toMatch(/^psn_[a-z2-7]{26}$/);
    expect(mask('pseudonymize')('陈伟明')).not.toBe(mask('pseudonymize')('陈伟'));
  });

  it('needs a scope from params or context', () => {
    expect(() => compileMask('pseudonymize', {}, { keys: ctx.keys })).toThrow(/pseudonymize.*'scope'/);
  });
});

describe('tokenize_preserving_format', () => {
  const classOf = (c: string) => (/[0-9]/.test(c) ? 'd' : /[A-Z]/.test(c) ? 'U' : /[a-z]/.test(c) ? 'l' : c);
  const shape = (s: string) => [...s].map(classOf).join('');

  it('keeps length, character classes and other characters on NRIC-, phone- and email-like inputs', () => {
    const tokenize = mask('tokenize_preserving_format');
    const inputs = ['S1234567D', 'T0012345Z', '+65 9123-4567', '(415) 555-0100', 'Jane.Doe+bank@Example.co.uk', 'a'.repeat(80) + '9'.repeat(40)];
    for (const input of inputs) {
      const token = tokenize(input) as string;
      expect(token).toHaveLength(input.length);
      expect(shape(token)).toBe(shape(input));
      expect(token).not.toBe(input);
    }
  });

  it('leaves non-ASCII characters in place', () => {
    const token = mask('tokenize_preserving_format')('Zoë-陈12') as string;
    expect([...token].map((c, i) => (i === 2 || i === 3 || i === 4 ? c : classOf(c))).join('')).toBe('Ulë-陈dd');
  });

  it('is deterministic per key and scope, and differs across keys and scopes', () => {
    const tokenize = mask('tokenize_preserving_format');
    expect(tokenize('S1234567D')).toBe(mask('tokenize_preserving_format')('S1234567D'));
    expect(tokenize('S1234567D')).not.toBe(mask('tokenize_preserving_format', {}, otherKeyCtx)('S1234567D'));
    expect(tokenize('S1234567D')).not.toBe(mask('tokenize_preserving_format', { scope: 'kyc' })('S1234567D'));
  });

  it('derives each position from HMAC of the whole value (one byte per position, modulo the class size)', () => {
    const bytes = referenceHmac('tokenize_preserving_format', 'customers.national_id', 'S1234567D');
    const expected = [...'S1234567D']
      .map((c, i) => {
        const b = bytes[i] ?? 0;
        return classOf(c) === 'd' ? String(b % 10) : String.fromCharCode(65 + (b % 26));
      })
      .join('');
    expect(mask('tokenize_preserving_format')('S1234567D')).toBe(expected);
  });

  it('spreads substitutes over the whole class at every position', () => {
    const tokenize = mask('tokenize_preserving_format');
    const tokens = nricLike(2000).map((v) => tokenize(v) as string);
    for (let position = 0; position < 9; position++) {
      const seen = new Set(tokens.map((t) => t[position]));
      // 2000 draws over 26 letters (or 10 digits): a missing symbol has probability < 26·(25/26)^2000 ≈ 1e-33.
      expect(seen.size).toBe(position === 0 || position === 8 ? 26 : 10);
    }
  });

  it('rejects non-text values', () => {
    expect(() => mask('tokenize_preserving_format')(1234)).toThrow(MaskValueError);
  });
});

describe('generalize_number', () => {
  it('buckets by width into range labels or lower bounds', () => {
    const byTen = mask('generalize_number', { width: 10 });
    expect(byTen(37)).toBe('30-39');
    expect(byTen(30)).toBe('30-39');
    expect(byTen(39.99)).toBe('30-39');
    expect(byTen(-1)).toBe('-10--1');
    expect(mask('generalize_number', { width: 1000 })('1234.50')).toBe('1000-1999');
    expect(mask('generalize_number', { width: 1 })(7.5)).toBe('7');
  });

  it('returns the lower bound in the shape the value came in', () => {
    const lower = mask('generalize_number', { width: 1000, output: 'lower' });
    expect(lower(1234)).toBe(1000);
    expect(lower('1234.50')).toBe('1000');
    expect(lower(1234n)).toBe(1000n);
  });

  it('uses the first band whose max is at least the value, then the open band or >max', () => {
    const bands = [
      { max: 1000, label: 'small' },
      { max: 10000, label: 'medium' },
    ];
    expect(mask('generalize_number', { bands })(1000)).toBe('small');
    expect(mask('generalize_number', { bands })('1000.01')).toBe('medium');
    expect(mask('generalize_number', { bands })(10001)).toBe('>10000');
    expect(mask('generalize_number', { bands: [...bands, { label: 'large' }] })(1e9)).toBe('large');
  });

  it('refuses non-numbers, including non-numeric text', () => {
    expect(() => mask('generalize_number', { width: 10 })('12abc')).toThrow(MaskValueError);
    expect(() => mask('generalize_number', { width: 10 })(Number.NaN)).toThrow(/generalize_number/);
  });
});

describe('generalize_date', () => {
  it('keeps year, quarter or month', () => {
    expect(mask('generalize_date')('1987-07-14')).toBe('1987');
    expect(mask('generalize_date', { to: 'quarter' })('1987-07-14')).toBe('1987-Q3');
    expect(mask('generalize_date', { to: 'quarter' })('1987-03-31')).toBe('1987-Q1');
    expect(mask('generalize_date', { to: 'quarter' })('1987-10-01')).toBe('1987-Q4');
    expect(mask('generalize_date', { to: 'month' })('1987-07-14')).toBe('1987-07');
    expect(mask('generalize_date', { to: 'month' })('1987-11-14')).toBe('1987-11');
  });

  it('reads timestamps as text and Date objects (UTC)', () => {
    expect(mask('generalize_date', { to: 'month' })('2024-12-31 23:30:00+00')).toBe('2024-12');
    expect(mask('generalize_date', { to: 'month' })(new Date('2024-12-31T23:30:00-05:00'))).toBe('2025-01');
  });

  it('refuses what is not a date', () => {
    for (const bad of ['14/07/1987', '1987-13-01', 'yesterday', 19870714, new Date(Number.NaN)]) {
      expect(() => mask('generalize_date')(bad)).toThrow(MaskValueError);
    }
  });
});

describe('age_from_birth_date', () => {
  const on = (today: string, params: object = {}) => mask('age_from_birth_date', { today, ...params });

  it('bands the age in whole years, counting a birthday only once it is reached', () => {
    expect(on('2026-07-13')('1987-07-14')).toBe('30-39');
    expect(on('2027-07-14')('1987-07-14')).toBe('40-49');
    expect(on('2027-07-13', { output: 'lower' })('1987-07-14')).toBe(30);
    expect(on('2026-03-01', { width: 1 })('2000-02-29')).toBe('26');
    expect(on('2026-02-28', { width: 1 })('2000-02-29')).toBe('25');
  });

  it('supports named bands and treats a future birth date as age 0', () => {
    const bands = [{ max: 17, label: 'minor' }, { max: 64, label: 'adult' }, { label: 'senior' }];
    expect(on('2026-01-01', { bands })('2010-06-01')).toBe('minor');
    expect(on('2026-01-01', { bands })('1950-06-01')).toBe('senior');
    expect(on('2026-01-01')('2030-01-01')).toBe('0-9');
  });

  it('defaults today to the current UTC date', () => {
    const now = new Date();
    const birth = `${now.getUTCFullYear() - 45}-01-01`;
    expect(mask('age_from_birth_date', { output: 'lower', width: 1 })(birth)).toBe(45);
  });
});

describe('truncate_postal_code', () => {
  it('keeps the first characters and stars the rest', () => {
    expect(mask('truncate_postal_code')('94105')).toBe('941**');
    expect(mask('truncate_postal_code', { keep: 2 })('238801')).toBe('23****');
    expect(mask('truncate_postal_code', { keep: 2 })(238801)).toBe('23****');
    expect(mask('truncate_postal_code', { keep: 3 })('SW1A 1AA')).toBe('SW1*****');
  });

  it('never shows a code no longer than keep', () => {
    expect(mask('truncate_postal_code', { keep: 3 })('123')).toBe('***');
    expect(mask('truncate_postal_code')('')).toBe('');
  });
});

describe('truncate_text', () => {
  it('cuts to maxLength including the ellipsis', () => {
    const truncate = mask('truncate_text', { maxLength: 10 });
    expect(truncate('short')).toBe('short');
    expect(truncate('exactly 10')).toBe('exactly 10');
    expect(truncate('this is a longer note')).toBe('this is a…');
    expect(mask('truncate_text', { maxLength: 8, ellipsis: '...' })('abcdefghijk')).toBe('abcde...');
  });

  it('turns line breaks into spaces and removes other control and invisible format characters', () => {
    const truncate = mask('truncate_text', { maxLength: 100 });
    expect(truncate('line1\nline2\r\n\tx')).toBe('line1 line2   x');
    expect(truncate('pay\u202Eredro\u202C now\u200B\u0007!')).toBe('payredro now!');
    expect(truncate('a\u2028b')).toBe('a b');
  });

  it('never splits a surrogate pair', () => {
    expect(mask('truncate_text', { maxLength: 4 })('😀😀😀😀😀')).toBe('😀😀😀…');
    expect(mask('truncate_text', { maxLength: 4 })('😀😀😀😀')).toBe('😀😀😀😀');
  });
});

describe('noise_number', () => {
  const values = Array.from({ length: 2000 }, (_, i) => 1000 + i * 37);

  it('stays within the relative bound and gives the same noisy value every time', () => {
    const noisy = mask('noise_number', { relative: 0.1 });
    const again = mask('noise_number', { relative: 0.1 });
    for (const value of values) {
      const out = noisy(value) as number;
      expect(Math.abs(out - value)).toBeLessThanOrEqual(Math.ceil(0.1 * value));
      expect(Number.isInteger(out)).toBe(true);
      expect(again(value)).toBe(out);
    }
  });

  it('relative mode perturbs every value by up to relative×|value|, never returning the exact value', () => {
    const noisy = mask('noise_number', { relative: 0.1, decimals: 6 });
    const shares = values.map((v) => ((noisy(v) as number) - v) / (0.1 * v));
    // Uniform on [-1, 1) in units of the bound: the same tail argument as for absolute noise below.
    expect(Math.min(...shares)).toBeLessThan(-0.9);
    expect(Math.max(...shares)).toBeGreaterThan(0.9);
    expect(shares.every((share) => share >= -1 && share <= 1)).toBe(true);
    expect(shares.filter((share) => share === 0)).toEqual([]);
  });

  it('spreads the noise over the whole bound, centred on zero', () => {
    const noisy = mask('noise_number', { absolute: 100, decimals: 4 });
    const offsets = values.map((v) => (noisy(v) as number) - v);
    // Uniform on [-100, 100): 2000 draws miss the outer 10% on a side with probability 0.95^2000 ≈ 1e-45;
    // the mean's standard error is 100/√3/√2000 ≈ 1.3, so |mean| < 10 fails with probability < 1e-13.
    expect(Math.min(...offsets)).toBeLessThan(-90);
    expect(Math.max(...offsets)).toBeGreaterThan(90);
    expect(Math.abs(offsets.reduce((a, b) => a + b, 0) / offsets.length)).toBeLessThan(10);
    expect(new Set(offsets).size).toBeGreaterThan(1990);
  });

  it('keeps the shape of numeric text, bigint and numbers, and seeds by the number not its text', () => {
    const noisy = mask('noise_number', { absolute: 50 });
    const text = noisy('1234.50') as string;
    expect(text).toMatch(/^\d+\.\d\d$/);
    expect(Math.abs(Number(text) - 1234.5)).toBeLessThanOrEqual(50.005);
    expect(Number(noisy(1234.5))).toBeCloseTo(Number(text), 2);
    expect(typeof noisy(1234n)).toBe('bigint');
    expect(noisy('-12')).toMatch(/^-?\d+$/);
  });

  it('differs across keys', () => {
    const a = values.map(mask('noise_number', { absolute: 100, decimals: 6 }));
    const b = values.map(mask('noise_number', { absolute: 100, decimals: 6 }, otherKeyCtx));
    expect(a.filter((x, i) => x === b[i]).length).toBeLessThan(5);
  });

  it('refuses non-numbers', () => {
    expect(() => mask('noise_number', { relative: 0.1 })('abc')).toThrow(MaskValueError);
  });
});

describe('substitute', () => {
  const names = Array.from({ length: 3000 }, (_, i) => `Customer Number ${i}`);

  it('picks from the dictionary by HMAC(key, value), deterministically', () => {
    const city = mask('substitute', { dictionary: 'city', scope: 'city' });
    const bytes = referenceHmac('substitute', 'city', 'Springfield');
    const index = Number(bytes.readUIntBE(0, 6) % DICTIONARIES.city.length);
    expect(city('Springfield')).toBe(DICTIONARIES.city[index]);
    expect(city('Springfield')).toBe(mask('substitute', { dictionary: 'city', scope: 'city' })('Springfield'));
  });

  it('uses (nearly) the whole dictionary and nothing outside it', () => {
    for (const dictionary of ['first_name', 'last_name', 'city', 'company'] as const) {
      const words: readonly string[] = DICTIONARIES[dictionary];
      const substitute = mask('substitute', { dictionary });
      const seen = new Set(names.map((n) => substitute(n) as string));
      for (const word of seen) expect(words).toContain(word);
      // 3000 draws over ≤ 80 words: any one word missing has probability < 80·(79/80)^3000 ≈ 4e-15.
      expect(seen.size).toBe(words.length);
    }
  });

  it('builds full names from a first and a last name', () => {
    const fullName = mask('substitute', { dictionary: 'full_name' });
    const combos = new Set(DICTIONARIES.first_name.flatMap((f) => DICTIONARIES.last_name.map((l) => `${f} ${l}`)));
    const outputs = names.slice(0, 500).map((n) => fullName(n) as string);
    for (const out of outputs) expect(combos.has(out)).toBe(true);
    expect(new Set(outputs).size).toBeGreaterThan(450);
  });

  it('differs across keys', () => {
    const a = names.map(mask('substitute', { dictionary: 'full_name' }));
    const b = names.map(mask('substitute', { dictionary: 'full_name' }, otherKeyCtx));
    expect(a.filter((x, i) => x === b[i]).length).toBeLessThan(30);
  });

  it('ships dictionaries of 50 to 100 distinct entries', () => {
    for (const words of Object.values(DICTIONARIES)) {
      expect(words.length).toBeGreaterThanOrEqual(50);
      expect(words.length).toBeLessThanOrEqual(100);
      expect(new Set(words).size).toBe(words.length);
    }
  });
});

describe('hash', () => {
  it('is plain SHA-256 hex, or of salt + NUL + value', () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(mask('hash')('jane@example.com')).toBe(sha('jane@example.com'));
    expect(mask('hash', { salt: 'pepper' })('jane@example.com')).toBe(sha('pepper\u0000jane@example.com'));
    expect(mask('hash')(42)).toBe(sha('42'));
  });
});

describe('every function', () => {
  const compiled = [
    mask('clear'),
    mask('redact'),
    mask('nullify'),
    mask('partial'),
    mask('email'),
    mask('phone'),
    mask('pseudonymize'),
    mask('tokenize_preserving_format'),
    mask('generalize_number', { width: 10 }),
    mask('generalize_date'),
    mask('age_from_birth_date'),
    mask('truncate_postal_code'),
    mask('truncate_text', { maxLength: 5 }),
    mask('noise_number', { relative: 0.1 }),
    mask('substitute', { dictionary: 'city' }),
    mask('hash'),
  ];

  it('maps null and undefined to null', () => {
    for (const fn of compiled) {
      expect(fn(null)).toBeNull();
      expect(fn(undefined)).toBeNull();
    }
  });

  it('names the function and the type, never the value, when given a value of the wrong type', () => {
    const error = (() => {
      try {
        mask('email')({ ssn: '123-45-6789' });
      } catch (e) {
        return e as MaskValueError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MaskValueError);
    expect(error?.message).toMatch(/mask function 'email': cannot mask a value of type object/);
    expect(error?.message).not.toContain('123-45');
  });
});
