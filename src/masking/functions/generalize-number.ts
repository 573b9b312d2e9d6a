import { z } from 'zod';
import { bandingShape, checkBanding, compileBanding } from './banding.ts';
import { defineMaskFunction } from './spec.ts';
import { numberOf } from './values.ts';

/** A lower bound in the shape the value came in (bigint, number, or numeric text). */
function shapedLike(value: unknown, lower: number): unknown {
  if (typeof value === 'bigint') return BigInt(lower);
  return typeof value === 'string' ? String(lower) : lower;
}

export const generalizeNumber = defineMaskFunction({
  name: 'generalize_number',
  summary:
    "Replaces a number by its bucket: equal `width` buckets labelled '30-39' (or their lower bound with `output: lower`), or named `bands` [{ max, label }] where the first band with value ≤ max wins.",
  params: z.strictObject(bandingShape).superRefine((p, ctx) => checkBanding(p, ctx, true)),
  appliesTo: ['int', 'numeric'],
  resultType: ({ output }, input) => (output === 'lower' ? input : 'text'),
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile(params) {
    const band = compileBanding(params, 1);
    return (value) => {
      if (value == null) return null;
      const banded = band(numberOf('generalize_number', value));
      return typeof banded === 'number' ? shapedLike(value, banded) : banded;
    };
  },
});
