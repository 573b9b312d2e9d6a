import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileMask, createMaskingKeys } from '../../src/masking/index.ts';
import { hmacPads, pseudonymBytes } from '../../src/masking/rules/equality-sql.ts';

const keys = createMaskingKeys(new Uint8Array(32).fill(4), 'mk-eq');
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

describe('equality on keyed tokens', () => {
  it('builds HMAC-SHA-256 from two plain SHA-256 calls over the padded key blocks (what SQL computes)', () => {
    const key = keys.subkey('pseudonymize', 'customer');
    const { ipad, opad } = hmacPads(key);
    expect(ipad).toHaveLength(64);
    for (const message of ['1', 'S1234567D', 'Zoë 小野', '']) {
      const m = Buffer.from(message, 'utf8');
      expect(sha256(opad, sha256(ipad, m)).toString('hex')).toBe(createHmac('sha256', key).update(message).digest('hex'));
    }
  });

  it('reads back the HMAC bytes of a pseudonym, and only from its canonical spelling', () => {
    const mask = compileMask('pseudonymize', { prefix: 'cus_', scope: 'customer' }, { keys });
    const token = mask(42) as string;
    const bytes = pseudonymBytes(token, 'cus_', 16);
    expect(bytes?.toString('hex')).toBe(createHmac('sha256', keys.subkey('pseudonymize', 'customer')).update('42').digest().subarray(0, 16).toString('hex'));
    expect(pseudonymBytes(token.toUpperCase(), 'cus_', 16)).toBeUndefined();
    expect(pseudonymBytes(token.replace('cus_', 'psn_'), 'cus_', 16)).toBeUndefined();
    expect(pseudonymBytes(token.slice(0, -1), 'cus_', 16)).toBeUndefined();
    expect(pseudonymBytes(`${token}a`, 'cus_', 16)).toBeUndefined();
    // The last character carries 3 data bits and 2 zero bits: flipping a padding bit is not the same token.
    const last = 'abcdefghijklmnopqrstuvwxyz234567'.indexOf(token.at(-1)!);
    expect(pseudonymBytes(token.slice(0, -1) + 'abcdefghijklmnopqrstuvwxyz234567'[last ^ 1], 'cus_', 16)).toBeUndefined();
  });
});
