import type { CatalogColumn } from '../config/index.ts';
import type { ViewTable } from '../policy/index.ts';
import { rhoForEpsilon } from './accountant.ts';
import { AGGREGATE_NAMES, aggregateOf } from './aggregates.ts';
import { type Output, outputKey, type Primitive } from './aggregate-terms.ts';

export { type MeasuredPrimitive, type Output, outputKey, type Primitive } from './aggregate-terms.ts';

export type Mechanism = 'LAPLACE' | 'GAUSSIAN';

export const SUBJECT_JURISDICTION = 'subject_jurisdiction';

export interface BudgetShare {
  /** ε of one primitive: the query's ε divided equally among its primitives (basic composition). */
  epsilon: number;
  /** ρ of one Gaussian primitive (count or sum) when the mechanism is GAUSSIAN. */
  rho: number | null;
  /** δ spent on partition selection (non-public group keys), else 0. */
  partitionDelta: number;
}

export interface AggregatePlan {
  viewTable: ViewTable;
  outputs: Output[];
  primitives: Primitive[];
  groupBy: string[];
  /** True when every group key has a public domain: all groups are reported, empty ones too. */
  publicGroups: boolean;
  mechanism: Mechanism;
  epsilon: number;
  delta: number;
  share: BudgetShare;
  rowsPerSubject: number;
}

export class AggregateRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AggregateRequestError';
  }
}

/** Columns an agent may sum, average or take quantiles of: the view's measurable fields. */
export function measurableColumns(viewTable: ViewTable): CatalogColumn[] {
  return [...viewTable.fields.values()].filter((f) => f.measurable).map((f) => f.column);
}

/** Columns an agent may group by: the view's groupable fields, plus the data subject's jurisdiction. */
export function groupableColumns(viewTable: ViewTable): string[] {
  const columns = [...viewTable.fields.values()].filter((f) => f.groupable).map((f) => f.column.name);
  return viewTable.table.jurisdiction ? [...columns, SUBJECT_JURISDICTION] : columns;
}

/** The public domain of a group key, or undefined when its values are not public (partition selection). */
export function groupDomain(
  viewTable: ViewTable,
  key: string,
  lookup: (table: string) => { columns: ReadonlyMap<string, CatalogColumn> },
): readonly string[] | undefined {
  if (key === SUBJECT_JURISDICTION) {
    const j = viewTable.table.jurisdiction!;
    return lookup(j.table).columns.get(j.column)?.domain;
  }
  return viewTable.fields.get(key)?.column.domain;
}

/**
 * Decides what to measure and how to split the budget. Each primitive gets ε/m (basic composition); a
 * Gaussian primitive gets the ρ whose (ε, δ) conversion stays within its share; partition selection costs δ.
 */
export function planAggregate(args: {
  viewTable: ViewTable;
  outputs: Output[];
  groupBy: string[];
  publicGroups: boolean;
  mechanism: Mechanism;
  epsilon: number;
  delta: number;
}): AggregatePlan {
  const { outputs, publicGroups, mechanism, epsilon, delta } = args;
  if (outputs.length === 0) throw new AggregateRequestError(`select at least one of ${AGGREGATE_NAMES.join(', ')} under groups`);
  const primitives = new Map<string, Primitive>();
  const add = (p: Primitive) => primitives.set(outputKey(p), p);
  for (const output of outputs) for (const primitive of aggregateOf(output).primitives(output)) add(primitive);
  if (!publicGroups) add({ op: 'count' });
  const needsDelta = mechanism === 'GAUSSIAN' || !publicGroups;
  if (needsDelta && !(delta > 0)) {
    throw new AggregateRequestError(
      mechanism === 'GAUSSIAN' ? 'the Gaussian mechanism needs delta > 0' : 'grouping by a non-public key needs delta > 0 (partition selection)',
    );
  }
  const list = [...primitives.values()];
  const share = epsilon / list.length;
  const gaussianPrimitives = list.filter((p) => p.op !== 'quantile').length;
  const partitionDelta = publicGroups ? 0 : mechanism === 'GAUSSIAN' ? delta / 2 : delta;
  const gaussianDelta = mechanism === 'GAUSSIAN' ? (delta - partitionDelta) / Math.max(1, gaussianPrimitives) : 0;
  return {
    viewTable: args.viewTable,
    outputs,
    primitives: list,
    groupBy: args.groupBy,
    publicGroups,
    mechanism,
    epsilon,
    delta,
    share: { epsilon: share, rho: mechanism === 'GAUSSIAN' ? rhoForEpsilon(share, gaussianDelta) : null, partitionDelta },
    rowsPerSubject: args.viewTable.policy.maxRowsPerSubject,
  };
}
