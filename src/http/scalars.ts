import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import {
  BIGINT_MESSAGE,
  bigIntValue,
  DATE_MESSAGE,
  DATE_TIME_MESSAGE,
  DECIMAL_MESSAGE,
  dateTimeValue,
  dateValue,
  decimalValue,
} from '../config/column-values.ts';
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

const parseBigInt = (value: unknown) => bigIntValue(value) ?? invalid(BIGINT_MESSAGE);

/** 64-bit integers: a JSON number while exact, else a string; accepts either as input. */
export const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  description: 'A 64-bit integer: a number when exactly representable, else a decimal string.',
  serialize: (value) => (typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value),
  parseValue: parseBigInt,
  parseLiteral: (node) => literal(node, [Kind.INT, Kind.STRING], parseBigInt, BIGINT_MESSAGE),
});

const parseDecimal = (value: unknown) => decimalValue(value) ?? invalid(DECIMAL_MESSAGE);

/** Exact decimals (PostgreSQL numeric), always as strings so no digit is lost. */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact decimal number, as a string (e.g. "1234.50").',
  serialize: (value) => String(value),
  parseValue: parseDecimal,
  parseLiteral: (node) => literal(node, [Kind.INT, Kind.FLOAT, Kind.STRING], parseDecimal, DECIMAL_MESSAGE),
});

const parseDate = (value: unknown) => dateValue(value) ?? invalid(DATE_MESSAGE);

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  description: 'A calendar date, YYYY-MM-DD.',
  serialize: (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value)),
  parseValue: parseDate,
  parseLiteral: (node) => literal(node, [Kind.STRING], parseDate, DATE_MESSAGE),
});

const parseDateTime = (value: unknown) => dateTimeValue(value) ?? invalid(DATE_TIME_MESSAGE);

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant, ISO 8601 with a time zone (e.g. 2025-06-01T10:00:00Z).',
  serialize: (value) => new Date(value as string | Date).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (node) => literal(node, [Kind.STRING], parseDateTime, DATE_TIME_MESSAGE),
});

export const SCALARS = { BigInt: BigIntScalar, Decimal: DecimalScalar, Date: DateScalar, DateTime: DateTimeScalar };
