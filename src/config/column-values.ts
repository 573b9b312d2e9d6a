import type { ColumnType } from './catalog.ts';

/**
 * What a column of each catalog type accepts as a JSON value, so that a bad value is refused before it reaches the
 * database as a cast error. The GraphQL scalars (src/http/scalars.ts) and the person claims a delegated token binds
 * into a row filter (src/policy/where.ts) both check values by these rules. Each returns the value as bound, or
 * undefined when the type does not take it.
 */

const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

export const BIGINT_MESSAGE = 'BigInt expects an integer or a string of digits within the 64-bit range';

export function bigIntValue(value: unknown): number | string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value) && BigInt(value) >= INT8_MIN && BigInt(value) <= INT8_MAX) return value;
  return undefined;
}

/** Digits before and after the point: far beyond any amount, short of numeric's overflow. */
const DECIMAL = /^-?\d{1,40}(\.\d{1,40})?$/;
export const DECIMAL_MESSAGE = 'Decimal expects a decimal number (at most 40 digits before and after the point), as a number or a string';

export function decimalValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e21) return String(value);
  if (typeof value === 'string' && DECIMAL.test(value)) return value;
  return undefined;
}

/** Whether year, month and day name a real day of years 1-9999 (PostgreSQL refuses year 0). */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
export const DATE_MESSAGE = 'Date expects a calendar date YYYY-MM-DD (years 0001-9999)';

export function dateValue(value: unknown): string | undefined {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  return match && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3])) ? (value as string) : undefined;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
export const DATE_TIME_MESSAGE = 'DateTime expects an ISO 8601 instant with a time zone, e.g. 2025-06-01T10:00:00Z (years 0001-9999)';

export function dateTimeValue(value: unknown): string | undefined {
  const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  return match && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3])) ? (value as string) : undefined;
}

/** Whether a column of `type` takes `value` as given in JSON: the rules above, and GraphQL's own for Int, String and Boolean. */
export function columnTakes(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case 'bigint':
      return bigIntValue(value) !== undefined;
    case 'integer':
      return Number.isInteger(value) && (value as number) >= INT4_MIN && (value as number) <= INT4_MAX;
    case 'numeric':
      return decimalValue(value) !== undefined;
    case 'text':
      return typeof value === 'string';
    case 'date':
      return dateValue(value) !== undefined;
    case 'timestamptz':
      return dateTimeValue(value) !== undefined;
    case 'boolean':
      return typeof value === 'boolean';
  }
}
