import type { CatalogColumn, ColumnType } from '../config/index.ts';

/** Accumulates bind parameters; SQL text only ever refers to them as $n. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

export const SQL_CAST: Record<ColumnType, string> = {
  bigint: 'int8',
  integer: 'int4',
  numeric: 'numeric',
  text: 'text',
  date: 'date',
  timestamptz: 'timestamptz',
  boolean: 'bool',
};

/** Quotes a catalog identifier. The catalog only admits [a-z_][a-z0-9_]*, checked again here. */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export type ComparisonOperator = 'eq' | 'ne' | 'in' | 'notIn' | 'lt' | 'lte' | 'gt' | 'gte' | 'isNull';

export interface Comparison {
  column: CatalogColumn;
  operator: ComparisonOperator;
  value: unknown;
}

/** A boolean tree over comparisons: the shape both policy row filters and agent `where` inputs compile to. */
export type Condition =
  | { kind: 'comparison'; comparison: Comparison }
  /** On the row's data-subject jurisdiction (found through the subject path), e.g. to withhold a transfer. */
  | { kind: 'subject-jurisdiction'; operator: 'in' | 'notIn'; value: readonly string[] }
  /** A predicate on one column that another stage writes (equality on a keyed token computed in SQL); values only as params. */
  | { kind: 'column-predicate'; column: CatalogColumn; compile: (target: string, params: Params) => string }
  | { kind: 'and' | 'or'; children: Condition[] }
  | { kind: 'not'; child: Condition };

const BINARY: Record<Exclude<ComparisonOperator, 'in' | 'notIn' | 'isNull'>, string> = {
  eq: '=',
  ne: '<>',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
};

/** Where a condition is compiled: the table alias and the expression giving the row's subject jurisdiction. */
export interface ConditionScope {
  alias: string;
  jurisdiction: string;
}

function compileComparison(alias: string, { column, operator, value }: Comparison, params: Params): string {
  const target = `${alias}.${ident(column.name)}`;
  const cast = SQL_CAST[column.type];
  switch (operator) {
    case 'isNull':
      return value ? `${target} IS NULL` : `${target} IS NOT NULL`;
    case 'in':
      return `${target} = ANY(${params.add(toArray(value), `${cast}[]`)})`;
    case 'notIn':
      return `NOT (${target} = ANY(${params.add(toArray(value), `${cast}[]`)}))`;
    default:
      if (value === null) return operator === 'ne' ? `${target} IS NOT NULL` : 'false';
      return `${target} ${BINARY[operator]} ${params.add(value, cast)}`;
  }
}

function toArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

export function compileCondition(scope: ConditionScope, condition: Condition, params: Params): string {
  switch (condition.kind) {
    case 'comparison':
      return compileComparison(scope.alias, condition.comparison, params);
    case 'column-predicate':
      return condition.compile(`${scope.alias}.${ident(condition.column.name)}`, params);
    case 'subject-jurisdiction': {
      // A row whose subject has no known jurisdiction compares as NULL, so it passes neither `in` nor `notIn`
      // (fail closed); the plain comparison also lets the planner push the filter into the subject join.
      const test = `${scope.jurisdiction} = ANY(${params.add([...condition.value], 'text[]')})`;
      return condition.operator === 'in' ? test : `NOT (${test})`;
    }
    case 'not':
      return `NOT (${compileCondition(scope, condition.child, params)})`;
    default: {
      if (condition.children.length === 0) return condition.kind === 'and' ? 'true' : 'false';
      const joiner = condition.kind === 'and' ? ' AND ' : ' OR ';
      return `(${condition.children.map((child) => compileCondition(scope, child, params)).join(joiner)})`;
    }
  }
}
