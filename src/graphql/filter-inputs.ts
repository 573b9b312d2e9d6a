import type { ViewField, ViewTable } from '../policy/index.ts';
import { fieldTypeName } from './type-names.ts';

const SCALARS = ['String', 'Int', 'BigInt', 'Decimal', 'Date', 'DateTime', 'Boolean'];

function comparisonFilter(scalar: string): string {
  const list = `[${scalar}!]`;
  return `input ${scalar}Filter {
  eq: ${scalar}
  ne: ${scalar}
  in: ${list}
  notIn: ${list}
  lt: ${scalar}
  lte: ${scalar}
  gt: ${scalar}
  gte: ${scalar}
  isNull: Boolean
}`;
}

/** Masked fields are String; a mask that keeps equality is compared with the token the agent was shown, nothing else. */
const EQUALITY_FILTER = `input StringEqualityFilter {
  eq: String
  in: [String!]
}`;

/** The operator inputs of every view's schema (stages' extensions use them too). */
export const FILTER_INPUTS_SDL = [...SCALARS.map(comparisonFilter), EQUALITY_FILTER].join('\n\n');

/** A field's operator input in a `where`, from what its view lets it filter by; undefined when nothing. */
export function filterTypeName(field: ViewField): string | undefined {
  if (field.filter === 'none') return undefined;
  return `${fieldTypeName(field)}${field.filter === 'equality' ? 'EqualityFilter' : 'Filter'}`;
}

/**
 * A `where` input over a view table: one line per field it can filter by, `extra` lines (a stage's own filters),
 * and `and` / `or` / `not`. A field it cannot filter by is not named, so a filter on it fails validation.
 */
export function whereInputSdl(name: string, viewTable: ViewTable, extra: readonly string[] = []): string {
  const fields = [...viewTable.fields].flatMap(([field, f]) => {
    const type = filterTypeName(f);
    return type ? [`  ${field}: ${type}`] : [];
  });
  return `input ${name} {\n${[...fields, ...extra].join('\n')}\n  and: [${name}!]\n  or: [${name}!]\n  not: ${name}\n}`;
}
