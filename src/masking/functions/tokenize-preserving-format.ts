/**
 * Format-preserving tokens, for display: same length and character classes as the input.
 *
 * Not a format-preserving *cipher* (FF1/FF3-1): each position is substituted by a keyed
 * pseudo-random choice drawn from HMAC(key, whole value), so the token is one-way — nobody,
 * key holder included, can decrypt it; a key holder can only re-tokenize a candidate and compare.
 * That is enough here because the broker never needs the original back from a token: agents see
 * tokens, joins and filters compare tokens, and the real value stays in the database.
 *
 * Deterministic per key and scope, so tokens are equality targets, but not collision-free: the
 * token space is the input's format (an NRIC-like 'S1234567D' has 26·10^7·26 of them), so over a
 * million values a few distinct inputs may share a token.
 */
import { z } from 'zod';
import { createHmac, type KeyObject } from 'node:crypto';
import { hmac, scopedKey, scopeParam } from './keyed.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOf } from './values.ts';

const DIGIT_0 = 0x30;
const UPPER_A = 0x41;
const LOWER_A = 0x61;

/** Substitute of each class for each random byte, precomputed: the per-character work is one lookup. */
function substitutes(first: number, size: number): readonly string[] {
  return Array.from({ length: 256 }, (_, byte) => String.fromCharCode(first + (byte % size)));
}
const DIGITS = substitutes(DIGIT_0, 10);
const UPPERS = substitutes(UPPER_A, 26);
const LOWERS = substitutes(LOWER_A, 26);

/** One byte of keyed randomness per position; more than 32 positions extend the stream by HMAC(key, seed ‖ block). */
function randomStream(key: KeyObject, value: string, length: number): Uint8Array {
  const seed = hmac(key, value);
  if (length <= seed.length) return seed;
  const blocks = [seed];
  for (let block = 1; block * seed.length < length; block++) {
    blocks.push(
      createHmac('sha256', key)
        .update(seed)
        .update(Uint8Array.of(block >>> 8, block & 0xff))
        .digest(),
    );
  }
  return Buffer.concat(blocks);
}

/**
 * ASCII digits, upper- and lower-case letters are replaced within their class (byte modulo class
 * size: a bias below 0.4 %, irrelevant for display); every other character is kept in place.
 */
export function tokenizeWith(key: KeyObject, text: string): string {
  const random = randomStream(key, text, text.length);
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const byte = random[i] ?? 0;
    if (code >= DIGIT_0 && code <= DIGIT_0 + 9) out += DIGITS[byte];
    else if (code >= UPPER_A && code <= UPPER_A + 25) out += UPPERS[byte];
    else if (code >= LOWER_A && code <= LOWER_A + 25) out += LOWERS[byte];
    else out += text[i];
  }
  return out;
}

export const tokenizePreservingFormat = defineMaskFunction({
  name: 'tokenize_preserving_format',
  summary:
    'Replaces each ASCII digit/upper/lower letter by a keyed pseudo-random one of the same class, keeping length and all other characters (one-way, deterministic per key and `scope`; not a reversible FPE cipher).',
  params: z.strictObject({ scope: scopeParam }),
  appliesTo: ['text'],
  resultType: alwaysText,
  keyed: true,
  equalityPreserving: true,
  warnsLowEntropy: false,
  compile({ scope }, ctx) {
    const key = scopedKey('tokenize_preserving_format', scope, ctx);
    return (value) => (value == null ? null : tokenizeWith(key, textOf('tokenize_preserving_format', value)));
  },
});
