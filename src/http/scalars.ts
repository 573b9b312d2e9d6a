import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { refusal } from '../request/refusals.ts';

/**
 * Scalars accept only what their PostgreSQL type accepts, so a bad value is an INVALID_ARGUMENT here rather
 * than a cast error in the database (INTERNAL). Literals and variables go through the same check.
 */
function invalid(message: string): never {
  throw refusal('INVALID_ARGUMENT', message);
}

/** A literal's text as written (numbers too, so no digit goes through a float), through the variables' check. */
function literal(node: ValueNode, kinds: readonly string[], parse: (value: unknown) => unknown, message: string): unknown {
  if (!kinds.includes(node.kind) || !('value' in node)) invalid(message);
  return parse(node.value);
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const BIGINT_MESSAGE = 'BigInt expects an integer or a string of digits within the 64-bit range';

function parseBigInt(value: unknown): number | string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value) && BigInt(value) >= INT8_MIN && BigInt(value) <= INT8_MAX) return value;
  return invalid(BIGINT_MESSAGE);
}

/** 64-bit integers: a JSON number while exact, else a string; accepts either as input. */
export const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  description: 'A 64-bit integer: a number when exactly representable, else a decimal string.',
  serialize: (value) => (typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value),
  parseValue: parseBigInt,
  parseLiteral: (node) => literal(node, [Kind.INT, Kind.STRING], parseBigInt, BIGINT_MESSAGE),
});

/** Digits before and after the point: far beyond any amount, short of numeric's overflow. */
const DECIMAL = /^-?\d{1,40}(\.\d{1,40})?$/;
const DECIMAL_MESSAGE = 'Decimal expects a decimal number (at most 40 digits before and after the point), as a number or a string';

function parseDecimal(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e21) return String(value);
  if (typeof value === 'string' && DECIMAL.test(value)) return value;
  return invalid(DECIMAL_MESSAGE);
}

/** Exact decimals (PostgreSQL numeric), always as strings so no digit is lost. */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact decimal number, as a string (e.g. "1234.50").',
  serialize: (value) => String(value),
  parseValue: parseDecimal,
  parseLiteral: (node) => literal(node, [Kind.INT, Kind.FLOAT, Kind.STRING], parseDecimal, DECIMAL_MESSAGE),
});

/** Whether year, month and day name a real day of years 1-9999 (PostgreSQL refuses year 0). */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_MESSAGE = 'Date expects a calendar date YYYY-MM-DD (years 0001-9999)';

function parseDate(value: unknown): string {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  if (match && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]))) return value as string;
  return invalid(DATE_MESSAGE);
}

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  description: 'A calendar date, YYYY-MM-DD.',
  serialize: (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value)),
  parseValue: parseDate,
  parseLiteral: (node) => literal(node, [Kind.STRING], parseDate, DATE_MESSAGE),
});

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const DATE_TIME_MESSAGE = 'DateTime expects an ISO 8601 instant with a time zone, e.g. 2025-06-01T10:00:00Z (years 0001-9999)';

function parseDateTime(value: unknown): string {
  const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (match && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]))) return value as string;
  return invalid(DATE_TIME_MESSAGE);
}

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant, ISO 8601 with a time zone (e.g. 2025-06-01T10:00:00Z).',
  serialize: (value) => new Date(value as string | Date).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (node) => literal(node, [Kind.STRING], parseDateTime, DATE_TIME_MESSAGE),
});

export const SCALARS = { BigInt: BigIntScalar, Decimal: DecimalScalar, Date: DateScalar, DateTime: DateTimeScalar };
