/** Banding shared by generalize_number and age_from_birth_date: equal-width buckets or named bands. */
import { z } from 'zod';

export const bandingShape = {
  width: z.number().int().positive().optional(),
  bands: z
    .array(z.strictObject({ max: z.number().optional(), label: z.string().min(1) }))
    .min(1)
    .optional(),
  output: z.enum(['range', 'lower']).default('range'),
};

export interface BandingParams {
  width?: number | undefined;
  bands?: Array<{ max?: number | undefined; label: string }> | undefined;
  output: 'range' | 'lower';
}

/** Cross-field rules of banding params; `requireOne` when there is no default width. */
export function checkBanding(params: BandingParams, ctx: z.RefinementCtx<BandingParams>, requireOne: boolean): void {
  const { width, bands, output } = params;
  if (width !== undefined && bands !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['bands'], message: 'give width or bands, not both' });
  }
  if (requireOne && width === undefined && bands === undefined) {
    ctx.addIssue({ code: 'custom', path: ['width'], message: 'required (or give bands)' });
  }
  if (bands === undefined) return;
  if (output === 'lower') ctx.addIssue({ code: 'custom', path: ['output'], message: "'lower' needs width, not bands" });
  bands.forEach((band, i) => {
    const previous = bands[i - 1]?.max;
    if (band.max === undefined && i !== bands.length - 1) {
      ctx.addIssue({ code: 'custom', path: ['bands', i, 'max'], message: 'only the last band may omit max' });
    }
    if (band.max !== undefined && previous !== undefined && band.max <= previous) {
      ctx.addIssue({ code: 'custom', path: ['bands', i, 'max'], message: 'band maxima must increase' });
    }
  });
}

/**
 * Equal width w: lower bound floor(x/w)·w, labelled 'lower-(lower+w-1)' ('30-39'), or just the
 * bound with output 'lower'. Bands: the first band with x ≤ max; above the last max (when it has
 * one) the label is '>max'.
 */
export function compileBanding(params: BandingParams, defaultWidth: number): (x: number) => string | number {
  const { bands, output } = params;
  if (bands !== undefined) {
    const last = bands.at(-1);
    const overflow = last?.max === undefined ? last?.label : `>${last.max}`;
    return (x) => {
      for (const band of bands) if (band.max === undefined || x <= band.max) return band.label;
      return overflow as string;
    };
  }
  const width = params.width ?? defaultWidth;
  if (output === 'lower') return (x) => Math.floor(x / width) * width;
  if (width === 1) return (x) => String(Math.floor(x));
  return (x) => {
    const lower = Math.floor(x / width) * width;
    return `${lower}-${lower + width - 1}`;
  };
}
