import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/index.ts';
import type { Catalog } from '../config/index.ts';
import { type MaskedEquality, rowFilterConditions, rowSelection, type View, type ViewTable } from '../policy/index.ts';
import { refusal } from '../request/refusals.ts';
import { requestState } from '../request/state.ts';
import type { TableLookup } from '../sql/index.ts';
import { groupDomain, type Mechanism, type Output, outputKey, planAggregate, SUBJECT_JURISDICTION } from './aggregate-plan.ts';
import { compileAggregate } from './aggregate-sql.ts';
import { aggregateOf } from './aggregates.ts';
import { admitPrivacySpend, asPrivacyRefusal, chargeRelease } from './admission.ts';
import { epsilonRemaining } from './budget-figures.ts';
import type { BudgetLedger, BudgetState } from './ledger.ts';
import type { Release } from './request-spend.ts';
import { type AggregateRelease, releaseAggregate } from './release.ts';

export interface DpAggregateOptions {
  catalog: Catalog;
  /** The shared budget ledger; null when no budgets are declared (every DP query is refused). */
  ledger: BudgetLedger | null;
  /** How an agent's equality filter on a masked field is evaluated (the masking stage's). */
  maskedEquality: MaskedEquality;
}

export interface DpAggregateArgs {
  where?: Record<string, unknown>;
  groupBy?: string[];
  epsilon: number;
  delta: number;
  mechanism: Mechanism;
}

/** One DP aggregate field of a request. */
export interface DpAggregateQuery {
  /** The request it belongs to: its transaction, its access tally and its privacy spend. */
  request: Request;
  view: View;
  viewTable: ViewTable;
  /** The field's response key: an alias repeating a query already released in the request shares that release. */
  field: string;
  args: DpAggregateArgs;
  /** What the agent selected under `groups`. */
  outputs: Output[];
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
    epsilonRemaining: epsilonRemaining(state.epsilonLimit, state.epsilonSpent),
    deltaLimit: state.deltaLimit,
    deltaSpent: state.deltaSpent,
    queries: state.queries,
  };
}

function checkedOutputs(outputs: Output[]): Output[] {
  for (const output of outputs) {
    const invalid = aggregateOf(output).invalid(output);
    if (invalid) throw refusal('INVALID_ARGUMENT', invalid);
  }
  return outputs;
}

/**
 * The rows the policy lets this request aggregate: its row filters with their session values bound (the agent's, and
 * the person's a delegated token acts for). A stored answer replays only under the same scope: after a reload that
 * changes a row filter, or for another person, the same arguments select other rows. Only the key's digest is stored.
 */
function rowScope(view: View, viewTable: ViewTable): unknown[] {
  return rowFilterConditions(view, viewTable).map((condition) =>
    condition.kind === 'comparison'
      ? { column: condition.comparison.column.name, operator: condition.comparison.operator, value: condition.comparison.value }
      : condition,
  );
}

/**
 * A differentially private aggregate: replays an identical earlier answer for free or runs one
 * bounding-and-aggregating statement and adds noise, then adds its cost to the request's total
 * (RequestPrivacySpend), which is charged once, in the request's transaction with its audit record.
 */
export async function answerDpAggregate(options: DpAggregateOptions, query: DpAggregateQuery) {
  const { request, view, viewTable, field, args } = query;
  const lookup: TableLookup = (name) => options.catalog.tables.get(name)!;
  const state = requestState(request);
  const tally = state.access;
  tally.operationKind = 'dp_aggregate';
  tally.aggregate = true;
  tally.tables.add(viewTable.table.name);
  const spend = admitPrivacySpend(options.ledger, request, view.agent.id, args.epsilon, args.delta);
  const groupBy = [...new Set(args.groupBy ?? [])];
  const domains = groupBy.map((key) => groupDomain(viewTable, key, lookup));
  const plan = asPrivacyRefusal(() =>
    planAggregate({
      viewTable,
      outputs: checkedOutputs(query.outputs),
      groupBy,
      publicGroups: domains.every((d) => d !== undefined),
      mechanism: args.mechanism,
      epsilon: args.epsilon,
      delta: args.delta,
    }),
  );
  for (const output of plan.outputs) {
    if ('field' in output)
      tally.fields.set(`${viewTable.table.name}.${output.field}`, {
        table: viewTable.table.name,
        field: output.field,
        mask: `dp:${plan.mechanism.toLowerCase()}`,
      });
  }
  const tx = state.tx!;
  const key = createHash('sha256')
    .update(
      canonicalJson({
        agent: view.agent.id,
        purpose: view.purpose,
        table: viewTable.table.name,
        rows: rowScope(view, viewTable),
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
    const { conditions } = rowSelection(view, viewTable, args.where, {
      maskedEquality: options.maskedEquality,
      subjectJurisdictionField: SUBJECT_JURISDICTION,
    });
    const compiled = compileAggregate(plan, conditions, lookup);
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
}
