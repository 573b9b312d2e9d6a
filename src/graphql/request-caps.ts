import { type FieldNode, getArgumentValues, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import type { View, ViewTable } from '../policy/index.ts';
import { refusal } from '../request/refusals.ts';
import { collectFields, DEFAULT_PAGE, type ReadArgs } from './read.ts';
import type { AccessTally, RequestState } from '../request/state.ts';

/** The rows one list field asks for: its limit, or the default page it gets without one. */
function pageAskedFor(viewTable: ViewTable, field: GraphQLField<unknown, unknown>, node: FieldNode, info: GraphQLResolveInfo): number {
  const args = getArgumentValues(field, node, info.variableValues) as ReadArgs;
  return args.limit ?? Math.min(DEFAULT_PAGE, viewTable.policy.maxLimit);
}

/** Fields as graphql-js executes them: one per response key (same-key fields merge), fragments and @skip applied. */
function byResponseKey(nodes: readonly FieldNode[]): FieldNode[] {
  const seen = new Map<string, FieldNode>();
  for (const node of nodes) {
    const key = node.alias?.value ?? node.name.value;
    if (!seen.has(key)) seen.set(key, node);
  }
  return [...seen.values()];
}

/** The rows the relations selected under `node` ask for: each nested list's page, each to-one relation one row. */
function nestedAskedFor(view: View, viewTable: ViewTable, objectType: GraphQLObjectType, node: FieldNode, info: GraphQLResolveInfo): number {
  let total = 0;
  for (const child of byResponseKey(node.selectionSet ? collectFields(node.selectionSet, info) : [])) {
    const relation = viewTable.relations.find((r) => r.field === child.name.value);
    if (!relation) continue;
    const target = view.tables.get(relation.target)!;
    const targetType = info.schema.getType(target.table.graphqlType) as GraphQLObjectType;
    const own = relation.kind === 'one' ? 1 : pageAskedFor(target, objectType.getFields()[relation.field]!, child, info);
    total += own + nestedAskedFor(view, target, targetType, child, info);
  }
  return total;
}

/**
 * The sum of the pages an operation asks for over every root row field, alias and nested list. A nested list
 * counts its page once, not once per parent row: the rows actually returned are checked after the read.
 */
export function rowsAskedFor(view: View, info: GraphQLResolveInfo): number {
  const query = info.schema.getQueryType()!;
  let total = 0;
  for (const node of byResponseKey(collectFields(info.operation.selectionSet, info))) {
    const viewTable = view.tables.get(node.name.value);
    if (viewTable?.policy.access !== 'rows') continue;
    const objectType = info.schema.getType(viewTable.table.graphqlType) as GraphQLObjectType;
    total += pageAskedFor(viewTable, query.getFields()[node.name.value]!, node, info) + nestedAskedFor(view, viewTable, objectType, node, info);
  }
  return total;
}

const askedFor = new WeakMap<RequestState, number>();

/** Refuses, before any SQL runs, an operation whose pages add up to more rows than its view allows per request. */
export function checkRowsAskedFor(state: RequestState, view: View, info: GraphQLResolveInfo): void {
  let rows = askedFor.get(state);
  if (rows === undefined) {
    rows = rowsAskedFor(view, info);
    askedFor.set(state, rows);
  }
  if (rows > view.caps.rows) {
    throw refusal(
      'LIMIT_EXCEEDED',
      `This request asks for up to ${rows} rows (the limits, or default pages, of all its fields, aliases and nested lists); this view allows ${view.caps.rows} per request.`,
      { requested: rows, maxRowsPerRequest: view.caps.rows },
    );
  }
}

/** Refuses an answer that, read, holds more rows or distinct data subjects than its view allows per request. */
export function checkReturned(tally: AccessTally, view: View): void {
  if (tally.rowCount > view.caps.rows) {
    throw refusal('LIMIT_EXCEEDED', `This request would return ${tally.rowCount} rows; this view allows ${view.caps.rows} per request.`, {
      maxRowsPerRequest: view.caps.rows,
    });
  }
  if (tally.subjects.size > view.caps.subjects) {
    throw refusal('LIMIT_EXCEEDED', `This request would return data about ${tally.subjects.size} people; this view allows ${view.caps.subjects} per request.`, {
      maxSubjectsPerRequest: view.caps.subjects,
    });
  }
}
