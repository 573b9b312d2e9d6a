import { z } from 'zod';
import { hmac, scopedKey, scopeParam, uniformFrom } from './keyed.ts';
import { defineMaskFunction, sameType } from './spec.ts';
import { numberOf } from './values.ts';

const FRACTION = /\.(\d+)/;

function roundTo(x: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(x * scale) / scale;
}

/** The noisy number in the shape the value came in: bigint, number, or numeric text with its own decimals. */
function shapedLike(value: unknown, noisy: number, decimals: number | undefined): unknown {
  if (typeof value === 'bigint') return BigInt(Math.round(noisy));
  if (typeof value === 'string') return noisy.toFixed(decimals ?? FRACTION.exec(value)?.[1]?.length ?? 0);
  if (decimals !== undefined) return roundTo(noisy, decimals);
  return Number.isInteger(value) ? Math.round(noisy) : noisy;
}

export const noiseNumber = defineMaskFunction({
  name: 'noise_number',
  summary:
    'Adds bounded noise, ±`relative`×|value| or ±`absolute`, drawn from HMAC(key, value) so a value always gets the same noisy value across queries (averaging cannot remove it); NOT a differential-privacy guarantee.',
  params: z
    .strictObject({
      relative: z.number().positive().max(10).optional(),
      absolute: z.number().positive().optional(),
      decimals: z.number().int().min(0).max(12).optional(),
      scope: scopeParam,
    })
    .refine((p) => (p.relative === undefined) !== (p.absolute === undefined), {
      message: 'give exactly one of relative or absolute',
      path: ['relative'],
    }),
  appliesTo: ['int', 'numeric'],
  resultType: sameType,
  keyed: true,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile({ relative, absolute, decimals, scope }, ctx) {
    const key = scopedKey('noise_number', scope, ctx);
    const boundOf = absolute !== undefined ? () => absolute : (x: number) => Math.abs(x) * (relative ?? 0);
    return (value) => {
      if (value == null) return null;
      const x = numberOf('noise_number', value);
      // Seeded by the number, not its text, so 1234.5 and '1234.50' get the same noise.
      const u = uniformFrom(hmac(key, String(x)), 0) * 2 - 1;
      return shapedLike(value, x + u * boundOf(x), decimals);
    };
  },
});
