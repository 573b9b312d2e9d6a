import { columnTakes } from '../config/column-values.ts';
import { type CatalogColumn, type ColumnCondition, type Operand, PERSON_SESSION_PREFIX } from '../config/index.ts';
import { refusal } from '../request/refusals.ts';
import type { ComparisonOperator, Condition } from '../sql/index.ts';
import { sessionValues, type View, type ViewField, type ViewTable } from './view.ts';

/**
 * The condition for an equality filter on a masked field (a token the agent was shown), or undefined when the
 * mask allows none. The masking stage answers it: the view names what is masked, not how tokens are computed.
 */
export type MaskedEquality = (field: ViewField, operator: string, operand: unknown) => Condition | undefined;

export interface WhereOptions {
  maskedEquality: MaskedEquality;
  /** A filter field that stands for the row's data-subject jurisdiction rather than a column (DP aggregates offer it). */
  subjectJurisdictionField?: string;
}

/** The rows an agent's request selects from one table of its view. */
export interface RowSelection {
  /** The policy's row filter and the agent's `where`, for SQL. */
  conditions: Condition[];
  /** The fields the `where` names, at any depth: looking people up by an identifier is regulated too. */
  lookups: string[];
}

const sessions = new WeakMap<View, Record<string, unknown>>();

/** The session values a row filter may name, built once per view. */
function sessionOf(view: View): Record<string, unknown> {
  let values = sessions.get(view);
  if (!values) {
    values = sessionValues(view.agent, view.purpose, view.person);
    sessions.set(view, values);
  }
  return values;
}

function resolveOperand(operand: Operand, session: Record<string, unknown>): unknown {
  if (typeof operand === 'object' && operand !== null && !Array.isArray(operand)) return session[operand.session];
  return operand;
}

/**
 * Refuses a person's claim a row filter cannot compare with as written: a list where the operator takes one value
 * (bound as one value it would match nothing for `eq` but everything for `ne`), or an item the column's type does not
 * take (a database cast error otherwise). The token is the caller's text; an agent's own `where` passes the same rules.
 */
function checkClaim(operand: Operand, operator: ComparisonOperator, column: CatalogColumn, value: unknown): void {
  if (typeof operand !== 'object' || Array.isArray(operand) || !operand.session.startsWith(PERSON_SESSION_PREFIX)) return;
  const list = operator === 'in' || operator === 'notIn';
  if ((list || !Array.isArray(value)) && (Array.isArray(value) ? value : [value]).every((item) => columnTakes(column.type, item))) return;
  const claim = operand.session.slice(PERSON_SESSION_PREFIX.length);
  throw refusal(
    'DELEGATION_CLAIM_MISSING',
    `The delegated token's claim "${claim}" cannot filter this view's rows: the filter compares it with ${list ? `${column.type} values` : `one ${column.type} value, not a list`}.`,
  );
}

/** The policy's row filter as conditions, with session values bound for the calling agent. */
export function rowFilterConditions(view: View, viewTable: ViewTable): Condition[] {
  const session = sessionOf(view);
  const conditions: Condition[] = [];
  for (const filter of [viewTable.rowFilter, viewTable.delegated?.rowFilter ?? {}]) {
    for (const [columnName, condition] of Object.entries(filter) as Array<[string, ColumnCondition]>) {
      const column = viewTable.table.columns.get(columnName)!;
      for (const [operator, operand] of Object.entries(condition) as Array<[ComparisonOperator, Operand]>) {
        const value = resolveOperand(operand, session);
        checkClaim(operand, operator, column, value);
        conditions.push({ kind: 'comparison', comparison: { column, operator, value } });
      }
    }
  }
  for (const subjectFilter of [viewTable.policy.subjectJurisdiction, viewTable.delegated?.subjectJurisdiction]) {
    for (const operator of ['in', 'notIn'] as const) {
      const operand = subjectFilter?.[operator];
      if (operand === undefined) continue;
      const value = resolveOperand(operand, session);
      conditions.push({ kind: 'subject-jurisdiction', operator, value: (Array.isArray(value) ? value : [value]).map(String) });
    }
  }
  return conditions;
}

const OPERATORS = new Set<ComparisonOperator>(['eq', 'ne', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull']);

function subjectJurisdictionConditions(name: string, filter: Record<string, unknown>): Condition[] {
  return Object.entries(filter).flatMap(([operator, operand]): Condition[] => {
    if (operand === undefined || operand === null) return [];
    const value = (Array.isArray(operand) ? operand : [operand]).map(String);
    if (operator === 'eq' || operator === 'in') return [{ kind: 'subject-jurisdiction', operator: 'in', value }];
    if (operator === 'ne' || operator === 'notIn') return [{ kind: 'subject-jurisdiction', operator: 'notIn', value }];
    throw refusal('INVALID_ARGUMENT', `${name} supports eq, ne, in and notIn only.`);
  });
}

function maskedFilterMessage(name: string, field: ViewField): string {
  return field.filter === 'equality'
    ? `Field "${name}" is masked in this view; only eq/in on the token it shows can filter it.`
    : `Field "${name}" is masked in this view and cannot be used to filter.`;
}

function fieldConditions(viewTable: ViewTable, name: string, filter: Record<string, unknown>, options: WhereOptions): Condition[] {
  const field = viewTable.fields.get(name)!;
  return Object.entries(filter).flatMap(([operator, operand]): Condition[] => {
    if (operand === undefined || !OPERATORS.has(operator as ComparisonOperator)) return [];
    if (field.filter === 'all') {
      return [{ kind: 'comparison', comparison: { column: field.column, operator: operator as ComparisonOperator, value: operand } }];
    }
    // The schema offers no other filter on a masked field; refused again here, as a stage must not trust its caller.
    const condition = field.filter === 'equality' ? options.maskedEquality(field, operator, operand) : undefined;
    if (!condition) throw refusal('MASKED_FIELD_FILTER', maskedFilterMessage(name, field), { field: name });
    return [condition];
  });
}

/** An agent's `where` input as a condition tree, noting the fields it names in `lookups`. */
function whereCondition(viewTable: ViewTable, where: Record<string, unknown>, options: WhereOptions, lookups: Set<string>): Condition {
  const children: Condition[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined || value === null) continue;
    if (key === 'and' || key === 'or') {
      children.push({ kind: key, children: (value as Array<Record<string, unknown>>).map((item) => whereCondition(viewTable, item, options, lookups)) });
    } else if (key === 'not') {
      children.push({ kind: 'not', child: whereCondition(viewTable, value as Record<string, unknown>, options, lookups) });
    } else if (key === options.subjectJurisdictionField) {
      children.push(...subjectJurisdictionConditions(key, value as Record<string, unknown>));
    } else {
      lookups.add(key);
      children.push(...fieldConditions(viewTable, key, value as Record<string, unknown>, options));
    }
  }
  return { kind: 'and', children };
}

/**
 * What one table of a view yields to a request: the policy's row filter, then the agent's `where` (filtering by
 * a masked field is refused: inference safety). The one walk of `where` for rows and every aggregate.
 */
export function rowSelection(view: View, viewTable: ViewTable, where: Record<string, unknown> | null | undefined, options: WhereOptions): RowSelection {
  const conditions = rowFilterConditions(view, viewTable);
  const lookups = new Set<string>();
  if (where) conditions.push(whereCondition(viewTable, where, options, lookups));
  return { conditions, lookups: [...lookups] };
}
