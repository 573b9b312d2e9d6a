/** Code-point-aware string helpers: masking must never split a surrogate pair into garbage. */
import { z } from 'zod';

/** One visible character (one code point), e.g. '*' or '•'. */
export const maskCharParam = z
  .string()
  .refine((s) => [...s].length === 1, { message: 'must be exactly one character' })
  .default('*');

const SURROGATE = /[\uD800-\uDFFF]/;

/** The string's code points; a plain string when it has none outside the BMP (the fast, common case). */
export function codePoints(text: string): string | string[] {
  return SURROGATE.test(text) ? Array.from(text) : text;
}

/**
 * Keeps the first `keepFirst` and last `keepLast` characters, masks the rest. When that would keep
 * the whole string (or more), everything is masked: a short value is never shown in full.
 */
export function maskMiddle(text: string, keepFirst: number, keepLast: number, maskChar: string): string {
  const chars = codePoints(text);
  const length = chars.length;
  if (keepFirst + keepLast >= length) return maskChar.repeat(length);
  const head = typeof chars === 'string' ? chars.slice(0, keepFirst) : chars.slice(0, keepFirst).join('');
  const tail = keepLast === 0 ? '' : typeof chars === 'string' ? chars.slice(length - keepLast) : chars.slice(length - keepLast).join('');
  return head + maskChar.repeat(length - keepFirst - keepLast) + tail;
}
