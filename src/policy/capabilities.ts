import type { CatalogColumn } from '../config/index.ts';
import type { FieldExposure, MaskVariant } from './exposure.ts';

/** Which `where` operators a field takes: every one, only `eq`/`in` on the value it shows, or none. */
export type FilterCapability = 'all' | 'equality' | 'none';

/**
 * What an agent may do with a field of its view besides reading it, decided once from the field's exposure
 * (PostGraphile's behaviours): the schema offers exactly this, and the stages refuse anything else again.
 */
export interface FieldCapabilities {
  filter: FilterCapability;
  /** A sort key: only a value shown as is, since the order of masked values tells about the hidden ones. */
  orderable: boolean;
  /** A DP group key: a text value shown as is. */
  groupable: boolean;
  /** Summed, averaged and ranked by DP: a value shown as is whose catalog bounds it can be clamped to. */
  measurable: boolean;
}

/** Withheld rows show nothing, so no value matches them: equality on the rest of the field stays sound. */
const answersEquality = (variant: MaskVariant | null): boolean => variant === null || variant.filterableByEquality;

export function fieldCapabilities(column: CatalogColumn, exposure: Exclude<FieldExposure, { kind: 'hidden' }>): FieldCapabilities {
  if (exposure.kind === 'clear') {
    return { filter: 'all', orderable: true, groupable: column.type === 'text', measurable: column.bounds !== undefined };
  }
  // Ranges, negations and null tests on a masked field would tell about the value its mask hides.
  const equality = [...exposure.byJurisdiction.values(), exposure.otherwise].every(answersEquality);
  return { filter: equality ? 'equality' : 'none', orderable: false, groupable: false, measurable: false };
}
