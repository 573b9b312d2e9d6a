import { createHash } from 'node:crypto';
import { type FieldNode, getArgumentValues, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { canonicalJson } from '../audit/index.ts';
import type { Catalog } from '../config/index.ts';
import { refusal } from '../request/refusals.ts';
import { collectFields, rowFilterConditions, whereCondition } from '../graphql/read.ts';
import { requestState, type KeyholeContext } from '../request/state.ts';
import type { ViewSchemaExtension } from '../graphql/schema.ts';
import { fieldTypeName } from '../graphql/type-names.ts';
import { sessionValues, type View, type ViewTable } from '../policy/index.ts';
import type { Condition, TableLookup } from '../sql/index.ts';
import {
  groupableColumns,
  groupDomain,
  type Mechanism,
  measurableColumns,
  type Output,
  outputKey,
  planAggregate,
  SUBJECT_JURISDICTION,
} from './aggregate-plan.ts';
import { compileAggregate } from './aggregate-sql.ts';
import { admitPrivacySpend, asPrivacyRefusal, chargeRelease } from './admission.ts';
import type { BudgetLedger, BudgetState } from './ledger.ts';
import type { Release } from './request-spend.ts';
import { type AggregateRelease, releaseAggregate } from './release.ts';

export interface DpExtensionOptions {
  catalog: Catalog;
  /** The shared budget ledger; null when no budgets are declared (every DP query is refused). */
  ledger: BudgetLedger | null;
}

const COMMON_SDL = `
enum DpMechanism { LAPLACE GAUSSIAN }
"""A differentially private value: the noisy answer and [low, high], holding the true value with probability ≥ confidence (for a group kept by partition selection: given that it was released; for a quantile: every usual definition of the q-quantile of the clamped values; rankError: ranks between the estimate's bin and q·n at that confidence)."""
type NoisyValue { value: Float low: Float high: Float confidence: Float! rankError: Float }
"""What this answer cost; zero when it was replayed."""
type PrivacySpend { epsilon: Float! delta: Float! rho: Float mechanism: String! }
type PrivacyBudgetState { scope: String! period: String! epsilonLimit: Float! epsilonSpent: Float! epsilonRemaining: Float! deltaLimit: Float! deltaSpent: Float! queries: Int! }`;

const aggregateTables = (view: View) => [...view.tables.values()].filter((t) => t.policy.access === 'aggregates' && t.fields.size > 0);

function tableSdl(viewTable: ViewTable): string {
  const type = viewTable.table.graphqlType;
  const measures = measurableColumns(viewTable).map((c) => c.name);
  const groups = groupableColumns(viewTable);
  const whereFields = [...viewTable.fields].map(([name, field]) => `  ${name}: ${fieldTypeName(field)}Filter`);
  if (viewTable.table.jurisdiction) whereFields.push(`  ${SUBJECT_JURISDICTION}: StringFilter`);
  const measureArgs = measures.length > 0 ? `(field: ${type}MeasureField!)` : '';
  const groupFields = [
    '  count: NoisyValue!',
    ...(measures.length > 0
      ? [`  sum${measureArgs}: NoisyValue!`, `  avg${measureArgs}: NoisyValue!`, `  quantile(field: ${type}MeasureField!, q: Float!): NoisyValue!`]
      : []),
  ];
  return [
    measures.length > 0 ? `enum ${type}MeasureField { ${measures.join(' ')} }` : '',
    groups.length > 0 ? `enum ${type}GroupField { ${groups.join(' ')} }` : '',
    `type ${type}GroupKey { ${groups.length > 0 ? groups.map((g) => `${g}: String`).join(' ') : '_empty: String'} }`,
    `type ${type}AggregateGroup {\n  key: ${type}GroupKey!\n${groupFields.join('\n')}\n}`,
    `type ${type}Aggregate {\n  mechanism: DpMechanism!\n  cost: PrivacySpend!\n  budget: PrivacyBudgetState!\n  replayed: Boolean!\n  rowsPerSubject: Int!\n  groups: [${type}AggregateGroup!]!\n}`,
    `input ${type}AggregateWhere {\n${whereFields.join('\n')}\n  and: [${type}AggregateWhere!]\n  or: [${type}AggregateWhere!]\n  not: ${type}AggregateWhere\n}`,
    `extend type Query {\n  """Differentially private aggregates over ${viewTable.table.name}: every answer costs ε (and δ for GAUSSIAN or a non-public groupBy) from the agent's budget; an identical query replays its earlier answer at no cost."""\n  ${viewTable.table.name}_aggregate(where: ${type}AggregateWhere, ${groups.length > 0 ? `groupBy: [${type}GroupField!], ` : ''}epsilon: Float!, delta: Float = 0, mechanism: DpMechanism = LAPLACE): ${type}Aggregate!\n}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Separates the subject-jurisdiction filter (answered through the subject path) from column filters. */
function aggregateConditions(viewTable: ViewTable, where: Record<string, unknown> | undefined): Condition[] {
  if (!where) return [];
  const { [SUBJECT_JURISDICTION]: jurisdiction, and, or, not, ...columns } = where;
  const conditions: Condition[] = [whereCondition(viewTable, columns)];
  if (jurisdiction) {
    for (const [op, value] of Object.entries(jurisdiction as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      const list = (Array.isArray(value) ? value : [value]).map(String);
      if (op === 'eq' || op === 'in') conditions.push({ kind: 'subject-jurisdiction', operator: 'in', value: list });
      else if (op === 'ne' || op === 'notIn') conditions.push({ kind: 'subject-jurisdiction', operator: 'notIn', value: list });
      else throw refusal('INVALID_ARGUMENT', `subject_jurisdiction supports eq, ne, in and notIn only.`);
    }
  }
  if (and) conditions.push({ kind: 'and', children: (and as Array<Record<string, unknown>>).flatMap((w) => aggregateConditions(viewTable, w)) });
  if (or)
    conditions.push({
      kind: 'or',
      children: (or as Array<Record<string, unknown>>).map((w) => ({ kind: 'and' as const, children: aggregateConditions(viewTable, w) })),
    });
  if (not) conditions.push({ kind: 'not', child: { kind: 'and', children: aggregateConditions(viewTable, not as Record<string, unknown>) } });
  return conditions;
}

/** Reads which outputs the agent selected under `groups` (aliases and fragments included). */
function selectedOutputs(info: GraphQLResolveInfo, type: string): Output[] {
  const groupType = info.schema.getType(`${type}AggregateGroup`) as GraphQLObjectType;
  const outputs = new Map<string, Output>();
  for (const node of info.fieldNodes.flatMap((n) => (n.selectionSet ? collectFields(n.selectionSet, info) : []))) {
    if (node.name.value !== 'groups' || !node.selectionSet) continue;
    for (const field of collectFields(node.selectionSet, info) as FieldNode[]) {
      const name = field.name.value;
      if (name !== 'count' && name !== 'sum' && name !== 'avg' && name !== 'quantile') continue;
      const args = getArgumentValues(groupType.getFields()[name]!, field, info.variableValues) as { field?: string; q?: number };
      const output: Output =
        name === 'count' ? { op: 'count' } : name === 'quantile' ? { op: 'quantile', field: args.field!, q: args.q! } : { op: name, field: args.field! };
      if (output.op === 'quantile' && !(output.q >= 0 && output.q <= 1)) throw refusal('INVALID_ARGUMENT', 'q must be between 0 and 1.');
      outputs.set(outputKey(output), output);
    }
  }
  return [...outputs.values()];
}

interface AggregateAnswer {
  mechanism: Mechanism;
  rowsPerSubject: number;
  cost: { epsilon: number; delta: number; rho: number | null; mechanism: string };
  groups: AggregateRelease['groups'];
}

function budgetView(state: BudgetState | undefined) {
  if (!state) return null;
  return {
    scope: state.scope,
    period: state.period,
    epsilonLimit: state.epsilonLimit,
    epsilonSpent: state.epsilonSpent,
    epsilonRemaining: Math.max(0, state.epsilonLimit - state.epsilonSpent),
    deltaLimit: state.deltaLimit,
    deltaSpent: state.deltaSpent,
    queries: state.queries,
  };
}

/**
 * The agents' differentially private aggregates. Each field: replay an identical earlier answer for free or run
 * one bounding-and-aggregating statement and add noise, then add its cost to the request's total
 * (RequestPrivacySpend), which is charged once, in the request's transaction with its audit record.
 */
export function dpAggregateExtension(options: DpExtensionOptions): ViewSchemaExtension {
  const lookup: TableLookup = (name) => options.catalog.tables.get(name)!;
  return {
    name: 'dp-aggregates',
    typeDefs(view) {
      const tables = aggregateTables(view);
      return tables.length === 0 ? '' : [COMMON_SDL, ...tables.map(tableSdl)].join('\n\n');
    },
    resolvers(view) {
      const query: Record<string, unknown> = {};
      const types: Record<string, Record<string, unknown>> = {};
      for (const viewTable of aggregateTables(view)) {
        const type = viewTable.table.graphqlType;
        type Group = AggregateAnswer['groups'][number];
        types[`${type}AggregateGroup`] =
          measurableColumns(viewTable).length === 0
            ? { count: (group: Group) => group.values.count }
            : {
                count: (group: AggregateAnswer['groups'][number]) => group.values.count,
                sum: (group: AggregateAnswer['groups'][number], args: { field: string }) => group.values[`sum:${args.field}`],
                avg: (group: AggregateAnswer['groups'][number], args: { field: string }) => group.values[`avg:${args.field}`],
                quantile: (group: AggregateAnswer['groups'][number], args: { field: string; q: number }) => group.values[`quantile:${args.field}:${args.q}`],
              };
        query[`${viewTable.table.name}_aggregate`] = async (
          _: unknown,
          args: { where?: Record<string, unknown>; groupBy?: string[]; epsilon: number; delta: number; mechanism: Mechanism },
          context: KeyholeContext,
          info: GraphQLResolveInfo,
        ) => {
          const state = requestState(context.request);
          const tally = state.access;
          tally.operationKind = 'dp_aggregate';
          tally.tables.add(viewTable.table.name);
          const spend = admitPrivacySpend(options.ledger, context.request, view.agent.id, args.epsilon, args.delta);
          const groupBy = [...new Set(args.groupBy ?? [])];
          const domains = groupBy.map((key) => groupDomain(viewTable, key, lookup));
          const plan = asPrivacyRefusal(() =>
            planAggregate({
              viewTable,
              outputs: selectedOutputs(info, type),
              groupBy,
              publicGroups: domains.every((d) => d !== undefined),
              mechanism: args.mechanism,
              epsilon: args.epsilon,
              delta: args.delta,
            }),
          );
          for (const output of plan.outputs) {
            if (output.op !== 'count')
              tally.fields.set(`${viewTable.table.name}.${output.field}`, {
                table: viewTable.table.name,
                field: output.field,
                mask: `dp:${plan.mechanism.toLowerCase()}`,
              });
          }
          const tx = state.tx!;
          const field = String(info.path.key);
          const key = createHash('sha256')
            .update(
              canonicalJson({
                agent: view.agent.id,
                purpose: view.purpose,
                table: viewTable.table.name,
                where: args.where ?? null,
                groupBy,
                epsilon: args.epsilon,
                delta: args.delta,
                mechanism: args.mechanism,
                outputs: plan.outputs.map(outputKey).sort(),
              }),
            )
            .digest('hex');
          const agentState = (states: BudgetState[]) => budgetView(states.find((s) => s.scope === `agent:${view.agent.id}`));
          const releaseOf = (answer: AggregateAnswer, replayed: boolean, costs: Release['costs'] = []): Release => ({
            field,
            table: viewTable.table.name,
            mechanism: answer.mechanism,
            epsilon: answer.cost.epsilon,
            delta: answer.cost.delta,
            rho: answer.cost.rho,
            costs,
            queryKey: key,
            answer: { value: answer, dataVersion: options.catalog.dataVersion },
            replayed,
          });
          let first = false;
          const released = await spend.once(key, async () => {
            first = true;
            await spend.lock(tx);
            const previous = (await spend.ledger.findAnswer(tx, view.agent.id, spend.period, key, options.catalog.dataVersion)) as AggregateAnswer | null;
            if (previous) return { answer: previous, replayed: true, states: await chargeRelease(spend, tx, releaseOf(previous, true)) };
            const compiled = compileAggregate(
              plan,
              [...rowFilterConditions(viewTable, { view, values: sessionValues(view.agent, view.purpose) }), ...aggregateConditions(viewTable, args.where)],
              lookup,
            );
            const { rows } = await tx.query<Record<string, unknown>>(compiled.text, compiled.params);
            const release = asPrivacyRefusal(() => releaseAggregate(plan, compiled.parse(rows), domains));
            const rho = release.costs.reduce((total, cost) => total + ('rho' in cost ? cost.rho : 0), 0);
            const answer: AggregateAnswer = {
              mechanism: plan.mechanism,
              rowsPerSubject: plan.rowsPerSubject,
              cost: {
                epsilon: args.epsilon,
                delta: plan.mechanism === 'GAUSSIAN' || !plan.publicGroups ? args.delta : 0,
                rho: plan.mechanism === 'GAUSSIAN' ? rho : null,
                mechanism: plan.mechanism,
              },
              groups: release.groups,
            };
            return { answer, replayed: false, states: await chargeRelease(spend, tx, releaseOf(answer, false, release.costs)) };
          });
          // An alias repeating a query already released in this request shares that release: listed, not charged again.
          const replayed = released.replayed || !first;
          const states = first ? released.states : await chargeRelease(spend, tx, releaseOf(released.answer, true));
          tally.rowCount += released.answer.groups.length;
          const cost = replayed ? { ...released.answer.cost, epsilon: 0, delta: 0, rho: released.answer.cost.rho === null ? null : 0 } : released.answer.cost;
          return { ...released.answer, replayed, cost, budget: agentState(states) };
        };
      }
      return { Query: query, ...types };
    },
  };
}
