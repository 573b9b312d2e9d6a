import type { ColumnType } from '../config/index.ts';
import type { ViewField } from '../policy/index.ts';

const GRAPHQL_SCALAR: Record<ColumnType, string> = {
  bigint: 'BigInt',
  integer: 'Int',
  numeric: 'Decimal',
  text: 'String',
  date: 'Date',
  timestamptz: 'DateTime',
  boolean: 'Boolean',
};

export function scalarOf(type: ColumnType): string {
  return GRAPHQL_SCALAR[type];
}

/** A masked value's type depends on its mask (a pseudonym of a number is a string), so masked fields are String. */
export function fieldTypeName(field: ViewField): string {
  return field.exposure.kind === 'masked' ? 'String' : scalarOf(field.column.type);
}

/** An SDL description block; the text never closes the block early. */
export const describe = (text: string): string => `"""${text.replace(/"""/g, "'''")}"""`;
