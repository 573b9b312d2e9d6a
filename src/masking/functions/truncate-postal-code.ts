import { z } from 'zod';
import { maskCharParam, maskMiddle } from './text.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOrIntegerOf } from './values.ts';

export const truncatePostalCode = defineMaskFunction({
  name: 'truncate_postal_code',
  summary:
    "Keeps the first `keep` characters of a postal code (default 3, the HIPAA ZIP3 convention) and replaces the rest with `maskChar` (default '*'); a code no longer than `keep` is masked entirely.",
  params: z.strictObject({ keep: z.number().int().min(0).default(3), maskChar: maskCharParam }),
  appliesTo: ['text', 'int'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile:
    ({ keep, maskChar }) =>
    (value) =>
      value == null ? null : maskMiddle(textOrIntegerOf('truncate_postal_code', value), keep, 0, maskChar),
});
