import type { FieldExposure } from '../../policy/index.ts';

/** What one row shows of a field: clear as is, masked by its subject's jurisdiction's variant, else withheld. */
export function applyExposure(exposure: Exclude<FieldExposure, { kind: 'hidden' }>, value: unknown, jurisdiction: string | null): unknown {
  if (exposure.kind === 'clear') return value;
  const variant = (jurisdiction !== null ? exposure.byJurisdiction.get(jurisdiction) : undefined) ?? exposure.otherwise;
  // No variant for this subject's jurisdiction means no rule covers it: withhold the value (fail closed).
  return variant ? variant.apply(value) : null;
}
