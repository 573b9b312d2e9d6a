import { type FieldNode, getArgumentValues, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { groupableColumns, measurableColumns, type Output, outputKey, SUBJECT_JURISDICTION } from '../../dp/aggregate-plan.ts';
import { AGGREGATE_NAMES, AGGREGATES } from '../../dp/aggregates.ts';
import { answerDpAggregate, type DpAggregateArgs, type DpAggregateOptions } from '../../dp/aggregate-query.ts';
import type { ReleasedGroup } from '../../dp/release.ts';
import { maskedEqualityCondition } from '../../masking/index.ts';
import type { View, ViewTable } from '../../policy/index.ts';
import type { KeyholeContext } from '../../request/state.ts';
import { collectFields } from '../read.ts';
import { whereInputSdl } from '../filter-inputs.ts';
import type { ViewSchemaExtension } from '../schema.ts';
import { inSpan } from '../../ops/trace-spans.ts';

/** The DP stage's options; masked-field filters are evaluated by the masking stage. */
export type DpExtensionOptions = Omit<DpAggregateOptions, 'maskedEquality'>;

const COMMON_SDL = `
enum DpMechanism { LAPLACE GAUSSIAN }
"""A differentially private value: the noisy answer and [low, high], holding the true value with probability ≥ confidence (for a group kept by partition selection: given that it was released; for a quantile: every usual definition of the q-quantile of the clamped values; rankError: ranks between the estimate's bin and q·n at that confidence)."""
type NoisyValue { value: Float low: Float high: Float confidence: Float! rankError: Float }
"""What this answer cost; zero when it was replayed."""
type PrivacySpend { epsilon: Float! delta: Float! rho: Float mechanism: String! }
type PrivacyBudgetState { scope: String! period: String! epsilonLimit: Float! epsilonSpent: Float! epsilonRemaining: Float! deltaLimit: Float! deltaSpent: Float! queries: Int! }`;

/** The aggregates a table's groups offer: those that measure a field only if it has measurable ones. */
const offeredAggregates = (viewTable: ViewTable) =>
  AGGREGATE_NAMES.filter((name) => !AGGREGATES[name].measuresField || measurableColumns(viewTable).length > 0);

const aggregateTables = (view: View) => [...view.tables.values()].filter((t) => t.policy.access === 'aggregates' && t.fields.size > 0);

function tableSdl(viewTable: ViewTable): string {
  const type = viewTable.table.graphqlType;
  const measures = measurableColumns(viewTable).map((c) => c.name);
  const groups = groupableColumns(viewTable);
  const groupFields = offeredAggregates(viewTable).map((name) => `  ${AGGREGATES[name].sdl(`${type}MeasureField`)}`);
  return [
    measures.length > 0 ? `enum ${type}MeasureField { ${measures.join(' ')} }` : '',
    groups.length > 0 ? `enum ${type}GroupField { ${groups.join(' ')} }` : '',
    `type ${type}GroupKey { ${groups.length > 0 ? groups.map((g) => `${g}: String`).join(' ') : '_empty: String'} }`,
    `type ${type}AggregateGroup {\n  key: ${type}GroupKey!\n${groupFields.join('\n')}\n}`,
    `type ${type}Aggregate {\n  mechanism: DpMechanism!\n  cost: PrivacySpend!\n  budget: PrivacyBudgetState!\n  replayed: Boolean!\n  rowsPerSubject: Int!\n  groups: [${type}AggregateGroup!]!\n}`,
    whereInputSdl(`${type}AggregateWhere`, viewTable, viewTable.table.jurisdiction ? [`  ${SUBJECT_JURISDICTION}: StringFilter`] : []),
    `extend type Query {\n  """Differentially private aggregates over ${viewTable.table.name}: every answer costs ε (and δ for GAUSSIAN or a non-public groupBy) from the agent's budget; an identical query replays its earlier answer at no cost."""\n  ${viewTable.table.name}_aggregate(where: ${type}AggregateWhere, ${groups.length > 0 ? `groupBy: [${type}GroupField!], ` : ''}epsilon: Float!, delta: Float = 0, mechanism: DpMechanism = LAPLACE): ${type}Aggregate!\n}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Reads which outputs the agent selected under `groups` (aliases and fragments included). */
function selectedOutputs(info: GraphQLResolveInfo, type: string): Output[] {
  const groupType = info.schema.getType(`${type}AggregateGroup`) as GraphQLObjectType;
  const outputs = new Map<string, Output>();
  for (const node of info.fieldNodes.flatMap((n) => (n.selectionSet ? collectFields(n.selectionSet, info) : []))) {
    if (node.name.value !== 'groups' || !node.selectionSet) continue;
    for (const field of collectFields(node.selectionSet, info) as FieldNode[]) {
      const name = field.name.value;
      if (!Object.hasOwn(AGGREGATES, name)) continue;
      const args = getArgumentValues(groupType.getFields()[name]!, field, info.variableValues) as { field?: string; q?: number };
      const output = AGGREGATES[name as Output['op']].output(args);
      outputs.set(outputKey(output), output);
    }
  }
  return [...outputs.values()];
}

/** The agents' differentially private aggregates: one `<table>_aggregate` field per aggregate-only table of the view. */
export function dpAggregateExtension(options: DpExtensionOptions): ViewSchemaExtension {
  const stage = { ...options, maskedEquality: maskedEqualityCondition };
  return {
    // Every answer charges the privacy budgets.
    writesState: true,
    typeDefs(view) {
      const tables = aggregateTables(view);
      return tables.length === 0 ? '' : [COMMON_SDL, ...tables.map(tableSdl)].join('\n\n');
    },
    resolvers(view) {
      const query: Record<string, unknown> = {};
      const types: Record<string, Record<string, unknown>> = {};
      for (const viewTable of aggregateTables(view)) {
        const type = viewTable.table.graphqlType;
        types[`${type}AggregateGroup`] = Object.fromEntries(
          offeredAggregates(viewTable).map((name) => [
            name,
            (group: ReleasedGroup, args: { field?: string; q?: number }) => group.values[outputKey(AGGREGATES[name].output(args))],
          ]),
        );
        query[`${viewTable.table.name}_aggregate`] = (_: unknown, args: DpAggregateArgs, context: KeyholeContext, info: GraphQLResolveInfo) =>
          inSpan('keyhole.dp', () =>
            answerDpAggregate(stage, { request: context.request, view, viewTable, field: String(info.path.key), args, outputs: selectedOutputs(info, type) }),
          );
      }
      return { Query: query, ...types };
    },
  };
}
