import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { z } from 'zod';
import type { View, ViewTable } from '../policy/view.ts';

/** One tool generated from an agent's view: its MCP description and the one GraphQL request a call makes. */
export interface ViewTool {
  name: string;
  title: string;
  description: string;
  /** Strict: an argument the view does not have (a hidden field, say) is refused, never silently dropped. */
  inputSchema: z.ZodObject;
  request(args: Record<string, unknown>): { query: string; variables: Record<string, unknown> };
}

/** What the agent's privacy budget allows, read when its MCP session opened. */
export interface DpBudgetNote {
  period: string;
  epsilonLimit: number;
  epsilonRemaining: number;
  minEpsilonPerQuery: number;
  maxEpsilonPerQuery: number;
}

/** A DP tool's measures become aliases; a request allows QUERY_LIMITS.aliases in all. */
const MAX_MEASURES = 6;

const NOISY_VALUE = '{ value low high confidence }';

const SCALARS: Record<string, () => z.ZodType> = {
  String: () => z.string(),
  Int: () => z.number().int(),
  Float: () => z.number(),
  Boolean: () => z.boolean(),
  // A 64-bit integer or an exact decimal travel as numbers when exact, else as decimal strings (src/http/scalars.ts).
  BigInt: () => z.union([z.number().int(), z.string().regex(/^-?\d+$/)]),
  Decimal: () => z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]),
  Date: () => z.string().describe('YYYY-MM-DD'),
  DateTime: () => z.string().describe('ISO 8601 with a time zone, e.g. 2025-06-01T10:00:00Z'),
};

function enumOf(values: readonly string[]) {
  return z.enum(values as [string, ...string[]]);
}

/**
 * The JSON Schema (as zod) of a GraphQL input type, or null where the type refers back to an input object already
 * being described (`and`/`or`/`not` of a where filter): the tools offer one level of filters, and the `query` tool
 * the full GraphQL filter language.
 */
function zodOfInput(type: GraphQLInputType, within: ReadonlySet<string>): z.ZodType | null {
  if (isNonNullType(type)) return zodOfInput(type.ofType, within);
  if (isListType(type)) {
    const item = zodOfInput(type.ofType, within);
    return item && z.array(item);
  }
  if (isEnumType(type)) return enumOf(type.getValues().map((value) => value.name));
  if (isInputObjectType(type)) {
    if (within.has(type.name)) return null;
    return z.strictObject(shapeOf(Object.values(type.getFields()), new Set([...within, type.name])));
  }
  return (SCALARS[type.name] ?? SCALARS.String!)();
}

function shapeOf(fields: ReadonlyArray<GraphQLInputField | GraphQLArgument>, within: ReadonlySet<string>): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const schema = zodOfInput(field.type, within);
    if (!schema) continue;
    const described = field.description ? schema.describe(field.description) : schema;
    shape[field.name] = isNonNullType(field.type) && field.defaultValue === undefined ? described : described.optional();
  }
  return shape;
}

/** The arguments the call gave, as variables of one named operation over one root field. */
function operation(name: string, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>, selection: string) {
  const given = field.args.filter((arg) => args[arg.name] !== undefined);
  const definitions = given.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const call = given.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return {
    query: `query ${name}${definitions ? `(${definitions})` : ''} { ${field.name}${call ? `(${call})` : ''} ${selection} }`,
    variables: Object.fromEntries(given.map((arg) => [arg.name, args[arg.name]])),
  };
}

/** Fields of an object type a caller can select by name alone: leaves without arguments (no nested lists). */
function leafFields(type: GraphQLObjectType): string[] {
  return Object.values(type.getFields())
    .filter((field) => isLeafType(getNamedType(field.type)) && field.args.length === 0)
    .map((field) => field.name);
}

function listTool(table: string, field: GraphQLField<unknown, unknown>, viewTable: ViewTable): ViewTool {
  const maxLimit = viewTable.policy.maxLimit;
  const fields = leafFields(getNamedType(field.type) as GraphQLObjectType);
  const notes = (name: string) => {
    const viewField = viewTable.fields.get(name);
    return [viewField?.exposure.kind === 'masked' && 'masked', viewField?.requiresApproval && 'needs a human approval (APPROVAL_REQUIRED)'].filter(Boolean);
  };
  const described = fields.map((name) => (notes(name).length > 0 ? `${name} (${notes(name).join(', ')})` : name));
  const name = `list_${table}`;
  const args = shapeOf(field.args, new Set());
  return {
    name,
    title: `List ${table}`,
    description:
      `${field.description ?? table} Returns rows of ${table} as this view shows them (masked fields stay masked). ` +
      `Fields: ${described.join(', ')}. Filters in \`where\` are combined with AND; for OR/NOT or nested relations use the query tool.`,
    inputSchema: z.strictObject({
      ...args,
      fields: z.array(enumOf(fields)).min(1).optional().describe('The fields to return (default: all of them)'),
      limit: z.number().int().min(1).max(maxLimit).optional().describe(`Rows per page, at most ${maxLimit}`),
      offset: z.number().int().min(0).optional(),
    }),
    request: (input) => operation(name, field, input, `{ ${((input.fields as string[] | undefined) ?? fields).join(' ')} }`),
  };
}

function budgetText(budget: DpBudgetNote | null): string {
  if (!budget) return ' No privacy budget is declared for this agent, so calls are refused (BUDGET_NOT_DECLARED).';
  return (
    ` Each call costs the ε you ask (${budget.minEpsilonPerQuery} ≤ ε ≤ ${budget.maxEpsilonPerQuery}) from your budget: ` +
    `${budget.epsilonRemaining} of ${budget.epsilonLimit} ε left for ${budget.period} when this session opened (every answer reports the budget after it).`
  );
}

function dpTool(table: string, field: GraphQLField<unknown, unknown>, budget: DpBudgetNote | null): ViewTool {
  const aggregate = getNamedType(field.type) as GraphQLObjectType;
  const group = getNamedType(aggregate.getFields().groups!.type) as GraphQLObjectType;
  const keyFields = leafFields(getNamedType(group.getFields().key!.type) as GraphQLObjectType);
  const measures = Object.values(group.getFields()).filter((f) => f.args.some((arg) => arg.name === 'field'));
  const measureFields = measures[0] && getNamedType(measures[0].args.find((arg) => arg.name === 'field')!.type);
  const name = `aggregate_${table}`;
  const measureShape =
    measures.length > 0 && isEnumType(measureFields)
      ? {
          measures: z
            .array(
              z.strictObject({
                op: enumOf(measures.map((m) => m.name)),
                field: enumOf(measureFields.getValues().map((v) => v.name)),
                q: z.number().min(0).max(1).optional().describe('The quantile, for op: quantile'),
              }),
            )
            .max(MAX_MEASURES)
            .optional()
            .describe('Noisy measures per group besides the count'),
        }
      : {};
  return {
    name,
    title: `Differentially private aggregate over ${table}`,
    description: `${field.description ?? table} Every group has a noisy count with a 95% interval.${budgetText(budget)}`,
    inputSchema: z.strictObject({ ...shapeOf(field.args, new Set()), ...measureShape }),
    request(input) {
      const { measures: asked = [], ...args } = input as { measures?: Array<{ op: string; field: string; q?: number }> };
      const selected = asked.map((m, i) => `m${i}_${m.op}_${m.field}: ${m.op}(field: ${m.field}${m.q === undefined ? '' : `, q: ${m.q}`}) ${NOISY_VALUE}`);
      const groups = `groups { key { ${keyFields.join(' ')} } count ${NOISY_VALUE} ${selected.join(' ')} }`;
      return operation(
        name,
        field,
        args,
        `{ mechanism replayed rowsPerSubject cost { epsilon delta mechanism } budget { period epsilonRemaining epsilonLimit } ${groups} }`,
      );
    },
  };
}

function encryptedTool(table: string, field: GraphQLField<unknown, unknown>): ViewTool {
  const result = getNamedType(field.type) as GraphQLObjectType;
  const name = `encrypted_aggregate_${table}`;
  return {
    name,
    title: `Encrypted aggregate over ${table}`,
    description:
      `${field.description ?? table} The result is a ciphertext only the key holder can open (keyhole he decrypt); ` +
      'with `noise` the answer carries differential-privacy noise and charges ε to your budget.',
    inputSchema: z.strictObject(shapeOf(field.args, new Set())),
    request: (input) => operation(name, field, input, `{ ${leafFields(result).join(' ')} }`),
  };
}

/**
 * The tools an agent's view offers, from the same compiled view and GraphQL schema its /graphql requests use: per
 * table, the root field its access kind adds (rows: a list, aggregates: DP, encrypted: HE). A field outside the
 * view is not in the schema, so it is in no tool either.
 */
export function viewTools(schema: GraphQLSchema, view: View, budget: DpBudgetNote | null): ViewTool[] {
  const root = schema.getQueryType()!.getFields();
  const tools: ViewTool[] = [];
  for (const [table, viewTable] of view.tables) {
    const { access } = viewTable.policy;
    const field = root[access === 'rows' ? table : access === 'aggregates' ? `${table}_aggregate` : `${table}_encrypted`];
    if (!field || !isObjectType(getNamedType(field.type))) continue;
    if (access === 'rows') tools.push(listTool(table, field, viewTable));
    else if (access === 'aggregates') tools.push(dpTool(table, field, budget));
    else tools.push(encryptedTool(table, field));
  }
  return tools;
}
