import { z } from 'zod';
import { maskCharParam, maskMiddle } from './text.ts';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { textOrIntegerOf } from './values.ts';

const count = z.number().int().min(0).default(0);

export const partial = defineMaskFunction({
  name: 'partial',
  summary:
    "Keeps the first `keepFirst` and last `keepLast` characters and masks the rest with `maskChar` (default '*'); a value no longer than keepFirst+keepLast is masked entirely.",
  params: z.strictObject({ keepFirst: count, keepLast: count, maskChar: maskCharParam }),
  appliesTo: ['text', 'int'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile:
    ({ keepFirst, keepLast, maskChar }) =>
    (value) =>
      value == null ? null : maskMiddle(textOrIntegerOf('partial', value), keepFirst, keepLast, maskChar),
});
