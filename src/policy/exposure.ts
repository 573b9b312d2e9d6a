import type { CatalogColumn, CatalogTable } from '../config/index.ts';

/** How one masked field is shown for rows of subjects in one set of jurisdictions. */
export interface MaskVariant {
  /** The masking function's name, as recorded in the audit log. */
  mask: string;
  /** Where the rule that chose it was written (`file:line`). */
  rule: string;
  apply: (value: unknown) => unknown;
  /**
   * `eq`/`in` on what this variant shows can be answered without telling more than it shows: it shows the value
   * itself or a deterministic token (its mask function's spec preserves equality), or nothing (hidden rows).
   */
  filterableByEquality: boolean;
}

/**
 * A field's exposure in one view. Masks may differ per data subject's jurisdiction (decided per row),
 * so a masked field carries one variant per jurisdiction plus the variant for all others.
 */
export type FieldExposure =
  | { kind: 'hidden'; reason: string }
  | { kind: 'clear'; rule: string | undefined }
  | { kind: 'masked'; byJurisdiction: ReadonlyMap<string, MaskVariant>; otherwise: MaskVariant | null };

export interface ExposureScope {
  role: string;
  purpose: string;
  agentLocation: string;
}

/** Decides a field's exposure for a scope: the masking stage implements it over `masking-rules/`. */
export type ExposureDecider = (table: CatalogTable, column: CatalogColumn, scope: ExposureScope) => FieldExposure;
