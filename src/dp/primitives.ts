/**
 * The noisy primitives aggregates are computed from. A sum or a sum of squares is a bounded statistic
 * (bounding.ts: its SQL and its sensitivity) chained to the plan's integer mechanism; a quantile is the
 * exponential mechanism over a histogram of the clamped values; the count is released in release.ts, since
 * partition selection draws it when group keys are not public.
 */
import type { PrivacyCost } from './accountant.ts';
import type { AggregatePlan } from './aggregate-plan.ts';
import type { AggregateRow, MeasuredPrimitive, Primitive } from './aggregate-terms.ts';
import { CONFIDENCE, type NoisyStatistic, type PrimitiveResults } from './aggregates.ts';
import { type BoundedAggregate, type BoundedColumn, chain, makeBoundedSum, makeBoundedSumOfSquares } from './bounding.ts';
import { type IntegerMeasurement, makeDiscreteGaussian, makeDiscreteLaplace } from './mechanisms.ts';
import { makeQuantile } from './quantile.ts';

/** Bins of the histogram quantiles are chosen from: the declared bounds split evenly. */
export const QUANTILE_BINS = 100;

export type SummedPrimitive = Extract<Primitive, { op: 'sum' | 'sum_of_squares' }>;

/** The sums SQL computes per group: the bounding stage of each, its column prefix, and the row's map (per field) that keeps it. */
export const SUMMED: {
  readonly [Op in SummedPrimitive['op']]: { bounded(column: BoundedColumn): BoundedAggregate; column: string; row: 'sums' | 'squares' };
} = {
  sum: { bounded: makeBoundedSum, column: 's', row: 'sums' },
  sum_of_squares: { bounded: makeBoundedSumOfSquares, column: 'q', row: 'squares' },
};

export function boundedStatistic(primitive: SummedPrimitive, plan: AggregatePlan): BoundedAggregate {
  const column = plan.viewTable.table.columns.get(primitive.field)!;
  return SUMMED[primitive.op].bounded({ k: plan.rowsPerSubject, bounds: column.bounds!, precision: column.precision ?? 0 });
}

/** The plan's mechanism for an integer statistic of this sensitivity, at one primitive's share of the budget. */
export function integerMeasurement(plan: AggregatePlan, sensitivity: bigint): IntegerMeasurement<PrivacyCost> {
  return plan.share.rho !== null
    ? makeDiscreteGaussian({ sensitivity, rho: plan.share.rho })
    : makeDiscreteLaplace({ sensitivity, epsilon: plan.share.epsilon });
}

/** A noisy integer in units, read in the column's units. */
export function unitsStatistic(measurement: IntegerMeasurement<PrivacyCost>, noisy: bigint, scale: number): NoisyStatistic {
  return {
    value: Number(noisy) / scale,
    interval(confidence) {
      const { lower, upper } = measurement.interval(noisy, confidence);
      return { low: Number(lower) / scale, high: Number(upper) / scale };
    },
  };
}

export interface Measurement<P extends MeasuredPrimitive> {
  cost: PrivacyCost;
  /** Draws the primitive's noise for one group. */
  release(row: AggregateRow): PrimitiveResults[P['op']];
}

function measureSum(primitive: SummedPrimitive, plan: AggregatePlan): Measurement<SummedPrimitive> {
  const bounded = boundedStatistic(primitive, plan);
  const measurement = chain(bounded, (sensitivity) => integerMeasurement(plan, sensitivity));
  return {
    cost: measurement.cost,
    release: (row) => unitsStatistic(measurement, measurement.release(row[SUMMED[primitive.op].row]?.get(primitive.field) ?? 0n), bounded.scale),
  };
}

function measureQuantile(primitive: Extract<Primitive, { op: 'quantile' }>, plan: AggregatePlan): Measurement<typeof primitive> {
  const [lower, upper] = plan.viewTable.table.columns.get(primitive.field)!.bounds!;
  const mechanism = makeQuantile({
    lower,
    upper,
    bins: QUANTILE_BINS,
    quantile: primitive.q,
    epsilon: plan.share.epsilon,
    maxContributionsPerSubject: plan.rowsPerSubject,
    confidence: CONFIDENCE,
  });
  return {
    cost: mechanism.cost,
    release(row) {
      const released = mechanism.release(row.histograms.get(primitive.field) ?? new Array<number>(QUANTILE_BINS).fill(0));
      return { value: released.value, low: released.low, high: released.high, confidence: CONFIDENCE, rankError: mechanism.rankError };
    },
  };
}

const MEASURE: {
  readonly [Op in MeasuredPrimitive['op']]: (primitive: Extract<Primitive, { op: Op }>, plan: AggregatePlan) => Measurement<MeasuredPrimitive>;
} = {
  sum: measureSum,
  sum_of_squares: measureSum,
  quantile: measureQuantile,
};

export const measurePrimitive = (primitive: MeasuredPrimitive, plan: AggregatePlan): Measurement<MeasuredPrimitive> =>
  (MEASURE[primitive.op] as (primitive: MeasuredPrimitive, plan: AggregatePlan) => Measurement<MeasuredPrimitive>)(primitive, plan);
