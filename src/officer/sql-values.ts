/** Small SQL fragments and value readers shared by the officer's queries over jsonb audit columns. */

/** A count or sum as a number: drivers hand int8 back as a number, a bigint or a string. */
export const num = (value: unknown): number => Number(value ?? 0);

/** A jsonb member as float8 only when it is a JSON number, so an odd record never breaks a report. */
export const jsonNumber = (expression: string, key: string) =>
  `CASE WHEN jsonb_typeof(${expression}->'${key}') = 'number' THEN (${expression}->>'${key}')::float8 END`;

/** The elements of a jsonb array column, none when the value is not an array. */
export const jsonElements = (expression: string) =>
  `jsonb_array_elements(CASE WHEN jsonb_typeof(${expression}) = 'array' THEN ${expression} ELSE '[]'::jsonb END)`;

/**
 * Rows a record's allowed answer went out without: `details.withheld = [{ table, rows, jurisdictions }]`,
 * written when transfer rules kept some subjects' rows back. A refused request returned nothing at all,
 * so what it would have withheld is not counted.
 */
export const withheldRowsOf = (alias: string) =>
  `CASE WHEN ${alias}.decision = 'allowed'
     THEN (SELECT coalesce(sum(${jsonNumber('w.value', 'rows')}), 0) FROM ${jsonElements(`${alias}.details->'withheld'`)} AS w(value))
     ELSE 0 END`;
