import { createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { uniformFrom } from '../../src/masking/functions/keyed.ts';
import { createMaskingKeys, MaskingKeyError } from '../../src/masking/keys.ts';
import { compileMask } from '../../src/masking/mask-functions.ts';

const SECRET = new Uint8Array(32).map((_, i) => i * 7 + 1);

function macHex(key: ReturnType<ReturnType<typeof createMaskingKeys>['subkey']>, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

describe('createMaskingKeys', () => {
  it('derives each subkey with HKDF-SHA-256 from the secret, salt and (function, scope)', () => {
    const keys = createMaskingKeys(SECRET, 'mk-1');
    const expected = Buffer.from(hkdfSync('sha256', SECRET, 'keyhole/masking/v1', JSON.stringify(['pseudonymize', 'customers.id']), 32));
    expect(keys.subkey('pseudonymize', 'customers.id').export().equals(expected)).toBe(true);
  });

  it('gives different keys to different scopes, functions and secrets', () => {
    const keys = createMaskingKeys(SECRET, 'mk-1');
    const other = createMaskingKeys(
      SECRET.map((b) => b ^ 1),
      'mk-2',
    );
    const macs = new Set([
      macHex(keys.subkey('pseudonymize', 'customers.id'), 'x'),
      macHex(keys.subkey('pseudonymize', 'customers.email'), 'x'),
      macHex(keys.subkey('substitute', 'customers.id'), 'x'),
      macHex(other.subkey('pseudonymize', 'customers.id'), 'x'),
    ]);
    expect(macs.size).toBe(4);
  });

  it('keeps (function, scope) pairs apart even when their concatenations collide', () => {
    const keys = createMaskingKeys(SECRET, 'mk-1');
    expect(macHex(keys.subkey('a', 'b.c'), 'x')).not.toBe(macHex(keys.subkey('a.b', 'c'), 'x'));
  });

  it('caches a subkey: the same KeyObject is returned for the same function and scope', () => {
    const keys = createMaskingKeys(SECRET, 'mk-1');
    expect(keys.subkey('pseudonymize', 's')).toBe(keys.subkey('pseudonymize', 's'));
  });

  it('copies the secret, so zeroing the caller buffer does not change the keys', () => {
    const secret = Uint8Array.from(SECRET);
    const keys = createMaskingKeys(secret, 'mk-1');
    secret.fill(0);
    const reference = createMaskingKeys(SECRET, 'mk-1');
    expect(macHex(keys.subkey('f', 's'), 'x')).toBe(macHex(reference.subkey('f', 's'), 'x'));
  });

  it('shows only the key id when serialised or inspected', () => {
    const keys = createMaskingKeys(SECRET, 'mk-1');
    const secretHex = Buffer.from(SECRET).toString('hex');
    expect(JSON.stringify(keys)).toBe('{"keyId":"mk-1"}');
    expect(inspect(keys)).toContain('mk-1');
    expect(inspect(keys, { showHidden: true })).not.toContain(secretHex.slice(0, 8));
    expect(Object.keys(keys)).toEqual(['keyId']);
  });

  it('refuses a secret shorter than 32 bytes and an empty key id', () => {
    expect(() => createMaskingKeys(new Uint8Array(31), 'mk-1')).toThrow(MaskingKeyError);
    expect(() => createMaskingKeys(new Uint8Array(31), 'mk-1')).toThrow(/at least 32/);
    expect(() => createMaskingKeys(SECRET, ' ')).toThrow(/key id/);
  });
});

/**
 * Keyed noise is a value's one noisy answer for good: if a new version drew other noise for the same value and
 * key, an agent holding answers from both could average the two. So the draws are pinned, to the last bit.
 */
describe('keyed outputs never change between versions', () => {
  it('reads a uniform draw from exactly 53 bits: 48 from six bytes, the top 5 of the seventh', () => {
    const bytes = (...b: number[]) => Uint8Array.from(b);
    expect(uniformFrom(bytes(0x80, 0, 0, 0, 0, 0, 0xff), 0)).toBe((2 ** 52 + 31) / 2 ** 53);
    expect(uniformFrom(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0)).toBe((2 ** 53 - 1) / 2 ** 53);
    expect(uniformFrom(bytes(9, 0x80, 0, 0, 0, 0, 0, 0x08, 9), 1)).toBe((2 ** 52 + 1) / 2 ** 53);
    expect(uniformFrom(bytes(0x80, 0, 0, 0, 0, 0), 0)).toBe(0.5);
    expect(uniformFrom(bytes(0, 0, 0, 0, 0, 0, 0x07), 0)).toBe(0);
  });

  it('gives noise_number’s pinned answers, in the shape each value came in', () => {
    const ctx = { keys: createMaskingKeys(SECRET, 'mk-1'), scope: 'accounts.balance' };
    const relative = compileMask('noise_number', { relative: 0.1 }, ctx);
    const absolute = compileMask('noise_number', { absolute: 5 }, ctx);
    expect([relative(1000), relative('1234.50'), relative(42n), relative(-7.25), absolute(100), absolute(0)]).toEqual([
      988,
      '1112.46',
      43n,
      -7.950569592216864,
      99,
      -1,
    ]);
  });
});
