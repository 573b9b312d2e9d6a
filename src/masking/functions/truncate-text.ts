import { z } from 'zod';
import { codePoints } from './text.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOf } from './values.ts';

/** Line breaks and tabs become spaces so words stay apart. */
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;
/**
 * Other control (Cc) and format (Cf) characters are removed: they include the bidi overrides and
 * zero-width characters that hide text from a human reviewer but not from an agent reading it.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;
const NEEDS_CLEANING = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

export function stripControlCharacters(text: string): string {
  return NEEDS_CLEANING.test(text) ? text.replace(WHITESPACE_CONTROLS, ' ').replace(INVISIBLE, '') : text;
}

export const truncateText = defineMaskFunction({
  name: 'truncate_text',
  summary:
    "Strips control and invisible format characters (line breaks become spaces) and cuts the text to `maxLength` characters including the `ellipsis` marker (default '…').",
  params: z
    .strictObject({ maxLength: z.number().int().positive(), ellipsis: z.string().default('…') })
    .refine((p) => p.maxLength > [...p.ellipsis].length, { message: 'must be longer than the ellipsis', path: ['maxLength'] }),
  appliesTo: ['text'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile({ maxLength, ellipsis }) {
    const keep = maxLength - [...ellipsis].length;
    return (value) => {
      if (value == null) return null;
      const clean = stripControlCharacters(textOf('truncate_text', value));
      if (clean.length <= maxLength) return clean;
      const chars = codePoints(clean);
      if (chars.length <= maxLength) return clean;
      return (typeof chars === 'string' ? chars.slice(0, keep) : chars.slice(0, keep).join('')) + ellipsis;
    };
  },
});
