import { z } from 'zod';
import { hmac, scopedKey, scopeParam } from './keyed.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { keyInputOf } from './values.ts';

const TOKEN_BYTES = 16;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Every 10-bit group as its two characters: half the string appends of one character at a time. */
const BASE32_PAIRS = Array.from({ length: 1024 }, (_, i) => `${BASE32[i >> 5]}${BASE32[i & 31]}`);

/** RFC 4648 base32, lower case, unpadded: case-insensitive and safe in URLs and identifiers. */
export function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < length; i++) {
    buffer = ((buffer & 0x3ff) << 8) | (bytes[i] ?? 0);
    bits += 8;
    if (bits >= 10) {
      bits -= 10;
      out += BASE32_PAIRS[(buffer >>> bits) & 0x3ff];
    }
  }
  if (bits >= 5) {
    bits -= 5;
    out += BASE32[(buffer >>> bits) & 31];
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

export const pseudonymize = defineMaskFunction({
  name: 'pseudonymize',
  summary:
    "Replaces the value with a stable keyed token, `prefix` (default 'psn_') + base32 of 128 bits of HMAC-SHA-256; same value, key and `scope` give the same token, another scope or key an unrelated one.",
  params: z.strictObject({
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_:-]{0,16}$/, 'at most 16 of A-Z a-z 0-9 _ : -')
      .default('psn_'),
    scope: scopeParam,
  }),
  appliesTo: ['text', 'int', 'numeric'],
  resultType: alwaysText,
  keyed: true,
  equalityPreserving: true,
  warnsLowEntropy: false,
  compile({ prefix, scope }, ctx) {
    const key = scopedKey('pseudonymize', scope, ctx);
    return (value) => (value == null ? null : prefix + base32(hmac(key, keyInputOf('pseudonymize', value)), TOKEN_BYTES));
  },
});
