import {
  type FieldNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { type FieldAccess, subjectPseudonym } from '../audit/index.ts';
import { applyExposure, maskedEqualityCondition } from '../masking/index.ts';
import type { CatalogRelation } from '../config/index.ts';
import { rowSelection, type View, type ViewField, type ViewTable } from '../policy/index.ts';
import type { OrderTerm, SelectRequest } from '../sql/index.ts';
import { JURISDICTION_KEY, SUBJECT_KEY } from '../sql/index.ts';
import { refusal } from '../request/refusals.ts';
import type { AccessTally } from '../request/state.ts';

export interface ReadArgs {
  where?: Record<string, unknown> | null;
  orderBy?: Array<{ field: string; direction?: 'ASC' | 'DESC' }> | null;
  limit?: number | null;
  offset?: number | null;
}

export const DEFAULT_PAGE = 20;
const MAX_OFFSET = 100_000;

/** How to turn one raw row of a table into what the agent receives. */
export interface RowShape {
  viewTable: ViewTable;
  columns: ReadonlyArray<{ name: string; field: ViewField }>;
  /**
   * What the audit record says of each column (its access tally's key and entry), worked out with the shape, not per
   * row or per request: a cached plan shares these entries, so they are frozen.
   */
  audited: ReadonlyArray<readonly [string, Readonly<FieldAccess>]>;
  nested: ReadonlyArray<{ key: string; kind: CatalogRelation['kind']; shape: RowShape }>;
}

function orderTerms(viewTable: ViewTable, orderBy: ReadArgs['orderBy']): OrderTerm[] {
  return (orderBy ?? []).map(({ field, direction }) => {
    if (!viewTable.fields.get(field)?.orderable) {
      throw refusal('MASKED_FIELD_FILTER', `Field "${field}" is masked in this view and cannot be used to sort.`, { field });
    }
    return { column: field, direction: direction ?? 'ASC' };
  });
}

function pageOf(viewTable: ViewTable, args: ReadArgs): { limit: number; offset: number } {
  const maxLimit = viewTable.policy.maxLimit;
  const limit = args.limit ?? Math.min(DEFAULT_PAGE, maxLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw refusal('LIMIT_EXCEEDED', `limit must be between 1 and ${maxLimit} for ${viewTable.table.name} in this view.`, { maxLimit });
  }
  const offset = args.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw refusal('INVALID_ARGUMENT', `offset must be between 0 and ${MAX_OFFSET}.`);
  }
  return { limit, offset };
}

export function collectFields(selectionSet: SelectionSetNode, info: GraphQLResolveInfo, out: FieldNode[] = []): FieldNode[] {
  for (const selection of selectionSet.selections) {
    const skip = getDirectiveValues(GraphQLSkipDirective, selection, info.variableValues);
    const include = getDirectiveValues(GraphQLIncludeDirective, selection, info.variableValues);
    if (skip?.if === true || include?.if === false) continue;
    if (selection.kind === 'Field') out.push(selection);
    else if (selection.kind === 'InlineFragment') collectFields(selection.selectionSet, info, out);
    else {
      const fragment: FragmentDefinitionNode | undefined = info.fragments[selection.name.value];
      if (fragment) collectFields(fragment.selectionSet, info, out);
    }
  }
  return out;
}

/**
 * Turns one root list field of the GraphQL request into a `SelectRequest` tree (for SQL), a matching
 * `RowShape` tree (for masking the rows that come back) and the fields its `where` looks people up by.
 */
export function planRead(
  view: View,
  viewTable: ViewTable,
  args: ReadArgs,
  fieldNodes: readonly FieldNode[],
  objectType: GraphQLObjectType,
  info: GraphQLResolveInfo,
): { request: SelectRequest; shape: RowShape; lookups: string[] } {
  const columns = new Map<string, ViewField>();
  const nested: Array<{ key: string; relation: CatalogRelation; request: SelectRequest }> = [];
  const nestedShapes: Array<{ key: string; kind: CatalogRelation['kind']; shape: RowShape }> = [];
  const fields = fieldNodes.flatMap((node) => (node.selectionSet ? collectFields(node.selectionSet, info) : []));
  const seenKeys = new Set<string>();
  for (const node of fields) {
    const name = node.name.value;
    const field = viewTable.fields.get(name);
    if (field) {
      columns.set(name, field);
      continue;
    }
    const relation = viewTable.relations.find((r) => r.field === name);
    const key = node.alias?.value ?? name;
    if (!relation || seenKeys.has(key)) continue;
    seenKeys.add(key);
    const target = view.tables.get(relation.target)!;
    const fieldDef = objectType.getFields()[name]!;
    const nestedArgs = getArgumentValues(fieldDef, node, info.variableValues) as ReadArgs;
    const targetType = info.schema.getType(target.table.graphqlType) as GraphQLObjectType;
    const plan = planRead(view, target, nestedArgs, [node], targetType, info);
    nested.push({ key, relation, request: plan.request });
    nestedShapes.push({ key, kind: relation.kind, shape: plan.shape });
  }
  const { conditions, lookups } = rowSelection(view, viewTable, args.where, { maskedEquality: maskedEqualityCondition });
  const page = pageOf(viewTable, args);
  return {
    request: {
      table: viewTable.table,
      columns: [...columns.keys()],
      conditions,
      orderBy: orderTerms(viewTable, args.orderBy),
      limit: page.limit,
      offset: page.offset,
      nested,
      withheld: viewTable.withheld,
    },
    shape: {
      viewTable,
      columns: [...columns].map(([name, field]) => ({ name, field })),
      audited: [...columns].map(([name, field]) => auditedField(viewTable.table.name, name, field)),
      nested: nestedShapes,
    },
    lookups,
  };
}

/**
 * The tables of a read whose rows of some subject jurisdictions the view withholds, from the policy alone: what
 * the agent is told must not depend on whether withheld people match its filter (one predicate at a time).
 */
export function withholdingOf(shape: RowShape, out: Map<string, readonly string[]> = new Map()): Map<string, readonly string[]> {
  const { table, withheld } = shape.viewTable;
  if (withheld.length > 0) out.set(table.name, withheld);
  for (const nested of shape.nested) withholdingOf(nested.shape, out);
  return out;
}

export function maskDescription(field: ViewField): { mask: string; rule?: string | undefined } {
  const exposure = field.exposure;
  if (exposure.kind === 'clear') return { mask: 'clear', rule: exposure.rule };
  const variants = [...exposure.byJurisdiction.entries()].map(([j, v]) => `${j}:${v.mask}`);
  if (exposure.otherwise) variants.push(exposure.otherwise.mask);
  const rules = [...exposure.byJurisdiction.values(), ...(exposure.otherwise ? [exposure.otherwise] : [])].map((v) => v.rule);
  return { mask: variants.join(','), rule: [...new Set(rules)].join(',') };
}

function auditedField(table: string, name: string, field: ViewField): readonly [string, Readonly<FieldAccess>] {
  return [`${table}.${name}`, Object.freeze({ table, field: name, ...maskDescription(field) })];
}

/**
 * Masks raw rows into what the agent receives, and tallies what was returned — tables, fields with the
 * mask and rule used, rows, and the data subjects (as keyed pseudonyms) — for the audit record.
 */
export function shapeRows(
  rows: ReadonlyArray<Record<string, unknown>>,
  shape: RowShape,
  tally: AccessTally,
  subjectKey: Uint8Array,
): Record<string, unknown>[] {
  const table = shape.viewTable.table;
  tally.readsRows = true;
  tally.tables.add(table.name);
  for (const [key, access] of shape.audited) tally.fields.set(key, access);
  tally.rowCount += rows.length;
  return rows.map((row) => {
    const jurisdiction = (row[JURISDICTION_KEY] as string | null | undefined) ?? null;
    const subject = row[SUBJECT_KEY];
    if (subject !== null && subject !== undefined) {
      tally.subjects.set(subjectPseudonym(subjectKey, table.subjectKind, subject), jurisdiction);
    }
    const out: Record<string, unknown> = {};
    for (const { name, field } of shape.columns) out[name] = applyExposure(field.exposure, row[name], jurisdiction);
    for (const { key, kind, shape: nestedShape } of shape.nested) {
      const value = row[key];
      if (kind === 'one') {
        out[key] = value ? shapeRows([value as Record<string, unknown>], nestedShape, tally, subjectKey)[0] : null;
      } else {
        out[key] = shapeRows((value as Record<string, unknown>[] | null) ?? [], nestedShape, tally, subjectKey);
      }
    }
    return out;
  });
}
