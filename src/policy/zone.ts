import type { CatalogColumn, RequestCaps, TablePolicy, TagClass, ZoneRules } from '../config/index.ts';
import type { ExposureDecider, FieldExposure } from './exposure.ts';

/** What a zone without clear personal fields shows masked or not at all: whatever identifies or describes a person. */
const PERSONAL_CLASSES: readonly TagClass[] = ['personal', 'special', 'identifier'];

const isPersonal = (column: CatalogColumn) => PERSONAL_CLASSES.some((tagClass) => column.classes.has(tagClass));

/** Whether any data subject's value would be shown as it is (a masked field may show some jurisdictions clear). */
function showsClear(exposure: FieldExposure): boolean {
  if (exposure.kind !== 'masked') return exposure.kind === 'clear';
  return [...exposure.byJurisdiction.values(), exposure.otherwise].some((variant) => variant?.mask === 'clear');
}

/**
 * The masking decisions as a zone allows them: where the zone forbids clear personal fields, one that a rule shows
 * clear (to anyone) is hidden, so it leaves the schema; masked ones stay as their rules mask them.
 */
export function zoneExposure(decide: ExposureDecider, zone: ZoneRules): ExposureDecider {
  if (zone.clearPersonalFields) return decide;
  return (table, column, scope) => {
    const exposure = decide(table, column, scope);
    if (!isPersonal(column) || !showsClear(exposure)) return exposure;
    return { kind: 'hidden', reason: `the ${zone.name} zone never shows ${column.tags.join(', ')} clear` };
  };
}

/** Whether a table of the policy stays in a zone's view: encrypted tables offer nothing but encrypted aggregates. */
export const zoneAdmits = (policy: TablePolicy, zone: ZoneRules): boolean => zone.encryptedAggregates || policy.access !== 'encrypted';

/** A table's policy with its page capped by the zone. */
export function zonePolicy(policy: TablePolicy, zone: ZoneRules): TablePolicy {
  return zone.maxLimit === undefined || policy.maxLimit <= zone.maxLimit ? policy : { ...policy, maxLimit: zone.maxLimit };
}

/** One request's rows and data subjects, capped by the zone. */
export function zoneCaps(caps: RequestCaps, zone: ZoneRules): RequestCaps {
  return zone.maxLimit === undefined ? caps : { rows: Math.min(caps.rows, zone.maxLimit), subjects: Math.min(caps.subjects, zone.maxLimit) };
}
