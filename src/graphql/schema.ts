import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { View, ViewTable } from '../policy/index.ts';
import { compileWithheldCount, type Queryable, type SelectRequest, type TableLookup, WITHHELD_COUNT_CAP, WITHHELD_KEY } from '../sql/index.ts';
import { type ApprovalField, missingApprovals } from '../approvals/index.ts';
import { refusal } from '../request/refusals.ts';
import { DEFAULT_PAGE, type ReadArgs, shapeRows } from './read.ts';
import { makeReadPlan, ReadPlanCache } from './read-plans.ts';
import { checkReturned, checkRowsAskedFor } from './request-caps.ts';
import { requestState, type KeyholeContext, type RequestState } from '../request/state.ts';
import { SCALARS } from '../http/scalars.ts';
import { FILTER_INPUTS_SDL, whereInputSdl } from './filter-inputs.ts';
import { describe, fieldTypeName } from './type-names.ts';
import { inSpanSync } from '../ops/trace-spans.ts';

/**
 * A later stage's part of a view's schema (DP aggregates, encrypted aggregates, …): its own types and
 * `extend type Query` fields, or '' when the view gives it nothing. Resolvers reach the request's
 * transaction and access tally through `requestState(context.request)`.
 */
export interface ViewSchemaExtension {
  typeDefs(view: View): string;
  resolvers(view: View): Record<string, unknown>;
  /**
   * Whether its `Query` fields write state, as DP and HE aggregates do (they charge privacy budgets): a request
   * selecting one runs in one transaction with its audit record.
   */
  writesState: boolean;
}

/** A view's schema, its root fields that write state (see `ViewSchemaExtension.writesState`), and its reads' plans. */
export interface ViewSchema {
  schema: GraphQLSchema;
  statefulFields: ReadonlySet<string>;
  readPlans: ReadPlanCache;
}

export interface SchemaDeps {
  lookup: TableLookup;
  subjectKey: Uint8Array;
  extensions: readonly ViewSchemaExtension[];
}

/** Fields a policy reserves for human approval are read only under an active approval; else none is read. */
async function requireApprovals(tx: Queryable, state: RequestState, needed: readonly ApprovalField[]): Promise<void> {
  const principal = state.principal;
  if (needed.length === 0 || principal?.kind !== 'agent') return;
  const missing = await missingApprovals(tx, principal.id, principal.purpose, needed, state.requestId);
  if (missing.length === 0) return;
  const names = missing.map((a) => `${a.table}.${a.field} (approval #${a.id})`).join(', ');
  throw refusal('APPROVAL_REQUIRED', `A human must approve access to ${names} first; ask again once it is approved.`, {
    approvals: missing.map((a) => ({ id: a.id, table: a.table, field: a.field, status: a.status })),
  });
}

const FILTER_NOTE = {
  all: '',
  equality: ' (masked in this view; filter it by eq/in on the token it shows; it cannot sort)',
  none: ' (masked in this view; cannot be used to filter or sort)',
} as const;

function fieldDescription(viewTable: ViewTable, name: string): string {
  const field = viewTable.fields.get(name)!;
  return `${field.column.description ?? `${viewTable.table.name}.${name}`}${FILTER_NOTE[field.filter]}`;
}

function rowTypeSdl(view: View, viewTable: ViewTable): string {
  const lines = [...viewTable.fields.keys()].map(
    (name) => `  ${describe(fieldDescription(viewTable, name))}\n  ${name}: ${fieldTypeName(viewTable.fields.get(name)!)}`,
  );
  for (const relation of viewTable.relations) {
    const target = view.tables.get(relation.target)!;
    const type = target.table.graphqlType;
    lines.push(
      relation.kind === 'one'
        ? `  ${relation.field}: ${type}`
        : `  ${relation.field}(where: ${type}Where, orderBy: [${type}OrderBy!], limit: Int, offset: Int): [${type}!]!`,
    );
  }
  const name = viewTable.table.graphqlType;
  const orderable = [...viewTable.fields].filter(([, f]) => f.orderable).map(([field]) => field);
  return [
    `${describe(viewTable.table.description)}\ntype ${name} {\n${lines.join('\n')}\n}`,
    whereInputSdl(`${name}Where`, viewTable),
    orderable.length > 0
      ? `enum ${name}OrderField { ${orderable.join(' ')} }\ninput ${name}OrderBy { field: ${name}OrderField!, direction: SortDirection = ASC }`
      : `input ${name}OrderBy { field: String!, direction: SortDirection = ASC }`,
  ].join('\n');
}

async function countWithheld(tx: Queryable, request: SelectRequest, lookup: TableLookup): Promise<number> {
  const count = compileWithheldCount(request, lookup);
  return Number((await tx.query<{ n: number }>(count.text, count.params)).rows[0]?.n ?? 0);
}

/**
 * Builds one view's GraphQL schema from the catalog-derived view (PostGraphile's catalog -> behaviour ->
 * types phases). Anything outside the view never becomes a type, field or enum value.
 */
export function buildViewSchema(view: View, deps: SchemaDeps): ViewSchema {
  const rowTables = [...view.tables.values()].filter((t) => t.policy.access === 'rows' && t.fields.size > 0);
  const rootFields = rowTables.map((t) => {
    const type = t.table.graphqlType;
    return `  ${describe(`${t.table.description} At most ${t.policy.maxLimit} per page (default ${Math.min(DEFAULT_PAGE, t.policy.maxLimit)}).`)}\n  ${t.table.name}(where: ${type}Where, orderBy: [${type}OrderBy!], limit: Int, offset: Int): [${type}!]!`;
  });
  const sdl = [
    'scalar BigInt\nscalar Decimal\nscalar Date\nscalar DateTime',
    'enum SortDirection { ASC DESC }',
    FILTER_INPUTS_SDL,
    `type ViewTable { name: String! access: String! fields: [String!]! maxLimit: Int! }`,
    `${describe('The calling agent and what its view allows.')}\ntype Viewer { agent: String! purpose: String! location: String! tables: [ViewTable!]! }`,
    `type Query {\n  viewer: Viewer!\n${rootFields.join('\n')}\n}`,
    ...rowTables.map((t) => rowTypeSdl(view, t)),
    ...deps.extensions.map((extension) => extension.typeDefs(view)).filter(Boolean),
  ].join('\n\n');

  // Made with the schema, so a rules reload (a new schema) starts with no plans.
  const readPlans = new ReadPlanCache();
  const queryResolvers: Record<string, unknown> = {
    viewer: () => ({
      agent: view.agent.id,
      purpose: view.purpose,
      location: view.agent.location,
      tables: [...view.tables.values()].map((t) => ({
        name: t.table.name,
        access: t.policy.access,
        fields: [...t.fields.keys()],
        maxLimit: t.policy.maxLimit,
      })),
    }),
  };
  for (const viewTable of rowTables) {
    queryResolvers[viewTable.table.name] = async (_: unknown, args: ReadArgs, context: KeyholeContext, info: GraphQLResolveInfo) => {
      const state = requestState(context.request);
      checkRowsAskedFor(state, view, info);
      const { request, shape, statement, withholding, approvals, lookups } = readPlans.planFor(info, () =>
        makeReadPlan(view, viewTable, args, info, deps.lookup),
      );
      for (const [table, jurisdictions] of withholding) state.withholding.set(table, jurisdictions);
      const tx: Queryable = state.tx!;
      await requireApprovals(tx, state, approvals);
      const { rows } = await tx.query<Record<string, unknown>>(statement.text, statement.params);
      for (const [key, access] of lookups) state.access.lookups.set(key, access);
      // For the officers' record only: a count after the agent's filter would let the agent probe withheld people.
      if (viewTable.withheld.length > 0) {
        const withheld = rows.length > 0 ? Number(rows[0]![WITHHELD_KEY]) : await countWithheld(tx, request, deps.lookup);
        if (withheld > 0) {
          state.access.withheld.push({
            table: viewTable.table.name,
            rows: withheld,
            ...(withheld >= WITHHELD_COUNT_CAP ? { atLeast: true as const } : {}),
            jurisdictions: viewTable.withheld,
          });
        }
      }
      const shaped = inSpanSync('keyhole.masking', () => shapeRows(rows, shape, state.access, deps.subjectKey));
      checkReturned(state.access, view);
      return shaped;
    };
  }
  const resolvers: Record<string, Record<string, unknown>> = { Query: queryResolvers };
  const statefulFields = new Set<string>();
  for (const extension of deps.extensions) {
    for (const [type, fields] of Object.entries(extension.resolvers(view))) {
      resolvers[type] = { ...resolvers[type], ...(fields as Record<string, unknown>) };
      if (type === 'Query' && extension.writesState) for (const field of Object.keys(fields as object)) statefulFields.add(field);
    }
  }
  for (const viewTable of rowTables) {
    const relationResolvers: Record<string, unknown> = {};
    for (const relation of viewTable.relations) {
      relationResolvers[relation.field] = (parent: Record<string, unknown>, _: unknown, __: unknown, info: GraphQLResolveInfo) => parent[String(info.path.key)];
    }
    resolvers[viewTable.table.graphqlType] = relationResolvers;
  }
  const schema = makeExecutableSchema({ typeDefs: sdl, resolvers: [SCALARS, resolvers] as Parameters<typeof makeExecutableSchema>[0]['resolvers'] });
  return { schema, statefulFields, readPlans };
}
