import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function literal(name: string, node: ValueNode, kinds: readonly string[]): string {
  if (!kinds.includes(node.kind) || !('value' in node)) throw new GraphQLError(`${name} cannot represent this literal`);
  return String(node.value);
}

/** 64-bit integers: a JSON number while exact, else a string; accepts either as input. */
export const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  description: 'A 64-bit integer: a number when exactly representable, else a decimal string.',
  serialize: (value) => (typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value),
  parseValue: (value) => {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    throw new GraphQLError('BigInt expects an integer or a string of digits');
  },
  parseLiteral: (node) => literal('BigInt', node, [Kind.INT, Kind.STRING]),
});

/** Exact decimals (PostgreSQL numeric), always as strings so no digit is lost. */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact decimal number, as a string (e.g. "1234.50").',
  serialize: (value) => String(value),
  parseValue: (value) => {
    if ((typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) || typeof value === 'number') return String(value);
    throw new GraphQLError('Decimal expects a decimal number or string');
  },
  parseLiteral: (node) => literal('Decimal', node, [Kind.INT, Kind.FLOAT, Kind.STRING]),
});

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  description: 'A calendar date, YYYY-MM-DD.',
  serialize: (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value)),
  parseValue: (value) => {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
    throw new GraphQLError('Date expects YYYY-MM-DD');
  },
  parseLiteral: (node) => literal('Date', node, [Kind.STRING]),
});

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant, ISO 8601 in UTC.',
  serialize: (value) => new Date(value as string | Date).toISOString(),
  parseValue: (value) => {
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value;
    throw new GraphQLError('DateTime expects an ISO 8601 timestamp');
  },
  parseLiteral: (node) => literal('DateTime', node, [Kind.STRING]),
});

export const SCALARS = { BigInt: BigIntScalar, Decimal: DecimalScalar, Date: DateScalar, DateTime: DateTimeScalar };
