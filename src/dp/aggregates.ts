/**
 * The aggregates an agent may ask of each group, one entry each: its field in the schema, the primitives it is
 * computed from (each a bounded statistic with its SQL and sensitivity, chained to a noise mechanism: see
 * primitives.ts), and how it turns their noisy values into an answer with an interval. The planner, the SQL
 * builder, the release and the GraphQL extension iterate this registry; a new aggregate is one entry here.
 */
import type { CatalogColumn } from '../config/index.ts';
import type { Output, Primitive } from './aggregate-terms.ts';
import { makeBoundedSumOfSquares } from './bounding.ts';

export interface NoisyValue {
  value: number | null;
  low: number | null;
  high: number | null;
  confidence: number;
  /** Quantiles only: with probability `confidence` the estimate's bin is within this many ranks of the target rank. */
  rankError: number | null;
}

/** A noisy primitive of one group, in the column's units. */
export interface NoisyStatistic {
  value: number;
  /** Holds the true value with probability ≥ confidence. */
  interval(confidence: number): { low: number; high: number };
}

/** What each primitive releases for a group. */
export interface PrimitiveResults {
  count: NoisyStatistic;
  sum: NoisyStatistic;
  sum_of_squares: NoisyStatistic;
  quantile: NoisyValue;
}

/** One group's released primitives, and what the outputs need to know about the data's bounds. */
export interface GroupPrimitives {
  released<P extends Primitive>(primitive: P): PrimitiveResults[P['op']];
  column(field: string): CatalogColumn;
  rowsPerSubject: number;
}

export interface AggregateKind<O extends Pick<Output, 'op'>> {
  /** Whether it takes `field:` (one of the table's measurable fields); a table without any offers only those that do not. */
  readonly measuresField: boolean;
  /** Its field in `<Type>AggregateGroup`, given the name of the table's enum of measurable fields. */
  sdl(measureField: string): string;
  /** The output its GraphQL arguments ask for. */
  output(args: { field?: string; q?: number }): O;
  /** Why its arguments are refused, or null. */
  invalid(output: O): string | null;
  /** The noisy primitives it is computed from; outputs that share one share its noise and its budget. */
  primitives(output: O): Primitive[];
  release(output: O, group: GroupPrimitives): NoisyValue;
}

export const CONFIDENCE = 0.95;
/** Each of avg's two intervals at √0.95… is conservative; 0.975 each gives ≥ 95% jointly by the union bound. */
const AVG_PART_CONFIDENCE = 0.975;
/** The spread's three intervals (count, sum, sum of squares), 95% jointly by the union bound. */
const SPREAD_PART_CONFIDENCE = 1 - (1 - CONFIDENCE) / 3;

const plain = (statistic: NoisyStatistic, confidence = CONFIDENCE): NoisyValue => {
  const { low, high } = statistic.interval(confidence);
  return { value: statistic.value, low, high, confidence, rankError: null };
};

const count: AggregateKind<{ op: 'count' }> = {
  measuresField: false,
  sdl: () => 'count: NoisyValue!',
  output: () => ({ op: 'count' }),
  invalid: () => null,
  primitives: () => [{ op: 'count' }],
  release(_, group) {
    const released = plain(group.released({ op: 'count' }));
    return { ...released, value: Math.max(0, released.value!), low: Math.max(0, released.low!), high: Math.max(0, released.high!) };
  },
};

const sum: AggregateKind<{ op: 'sum'; field: string }> = {
  measuresField: true,
  sdl: (measure) => `sum(field: ${measure}!): NoisyValue!`,
  output: (args) => ({ op: 'sum', field: args.field! }),
  invalid: () => null,
  primitives: (output) => [{ op: 'sum', field: output.field }],
  release: (output, group) => plain(group.released({ op: 'sum', field: output.field })),
};

/** The range of x / n over the box [xLow, xHigh] × [nLow, nHigh] with n ≥ 1: its corners. */
function ratioRange(x: { low: number; high: number }, n: { low: number; high: number }) {
  const [nLow, nHigh] = [Math.max(1, n.low), Math.max(1, n.high)];
  const ratios = [x.low / nLow, x.low / nHigh, x.high / nLow, x.high / nHigh];
  return { low: Math.min(...ratios), high: Math.max(...ratios) };
}

const avg: AggregateKind<{ op: 'avg'; field: string }> = {
  measuresField: true,
  sdl: (measure) => `avg(field: ${measure}!): NoisyValue!`,
  output: (args) => ({ op: 'avg', field: args.field! }),
  invalid: () => null,
  primitives: (output) => [{ op: 'count' }, { op: 'sum', field: output.field }],
  release(output, group) {
    const [lower, upper] = group.column(output.field).bounds!;
    const clamp = (x: number) => Math.min(upper, Math.max(lower, x));
    const n = group.released({ op: 'count' });
    const s = group.released({ op: 'sum', field: output.field });
    const range = ratioRange(s.interval(AVG_PART_CONFIDENCE), n.interval(AVG_PART_CONFIDENCE));
    return { value: clamp(s.value / Math.max(1, n.value)), low: clamp(range.low), high: clamp(range.high), confidence: CONFIDENCE, rankError: null };
  },
};

const quantile: AggregateKind<{ op: 'quantile'; field: string; q: number }> = {
  measuresField: true,
  sdl: (measure) => `quantile(field: ${measure}!, q: Float!): NoisyValue!`,
  output: (args) => ({ op: 'quantile', field: args.field!, q: args.q! }),
  invalid: (output) => (output.q >= 0 && output.q <= 1 ? null : 'q must be between 0 and 1.'),
  primitives: (output) => [output],
  release: (output, group) => group.released(output),
};

/**
 * The population variance of a group's clamped values, post-processed from three noisy primitives: the count n,
 * the sum S and the sum of squares about the bounds' middle c, Q = Σ(x - c)² (whose sensitivity is k·(U - L)² in
 * units, not k·max(L², U²)). Variance = Q/n - (S/n - c)², clamped to [0, ((upper - lower)/2)²], the largest
 * variance values within the bounds can have. Its interval takes each primitive's at 1 - 0.05/3 (union bound):
 * Q/n over that box is lowest and highest at its corners, (S/n - c)² is between the squares of the mean's range
 * (0 if the range holds c), and the variance lies between the lowest first term minus the highest second and the
 * reverse.
 */
function variance(group: GroupPrimitives, field: string): { value: number; low: number; high: number } {
  const { k, column } = { k: group.rowsPerSubject, column: group.column(field) };
  const [lower, upper] = column.bounds!;
  const { centre } = makeBoundedSumOfSquares({ k, bounds: [lower, upper], precision: column.precision ?? 0 });
  const largest = ((upper - lower) / 2) ** 2;
  const clamp = (x: number) => Math.min(largest, Math.max(0, x));
  const n = group.released({ op: 'count' });
  const s = group.released({ op: 'sum', field });
  const q = group.released({ op: 'sum_of_squares', field });
  const size = Math.max(1, n.value);
  const value = q.value / size - (s.value / size - centre) ** 2;
  const counts = n.interval(SPREAD_PART_CONFIDENCE);
  const spread = ratioRange(q.interval(SPREAD_PART_CONFIDENCE), counts);
  const mean = ratioRange(s.interval(SPREAD_PART_CONFIDENCE), counts);
  const offsets = [(mean.low - centre) ** 2, (mean.high - centre) ** 2];
  const offsetLow = mean.low <= centre && centre <= mean.high ? 0 : Math.min(...offsets);
  return { value: clamp(value), low: clamp(spread.low - Math.max(...offsets)), high: clamp(spread.high - offsetLow) };
}

const spreadPrimitives = (field: string): Primitive[] => [{ op: 'count' }, { op: 'sum', field }, { op: 'sum_of_squares', field }];

/** variance and stddev: the same three primitives and interval, the answer read through `shape`. */
function spreadKind<Op extends 'variance' | 'stddev'>(
  op: Op,
  description: string,
  shape: (variance: number) => number,
): AggregateKind<{ op: Op; field: string }> {
  return {
    measuresField: true,
    sdl: (measure) => `"""${description}"""\n  ${op}(field: ${measure}!): NoisyValue!`,
    output: (args) => ({ op, field: args.field! }),
    invalid: () => null,
    primitives: (output) => spreadPrimitives(output.field),
    release(output, group) {
      const { value, low, high } = variance(group, output.field);
      return { value: shape(value), low: shape(low), high: shape(high), confidence: CONFIDENCE, rankError: null };
    },
  };
}

const varianceKind = spreadKind(
  'variance',
  'Population variance of the clamped values, from a noisy count, sum and sum of squares (three primitives, each charged).',
  (v) => v,
);
const stddev = spreadKind('stddev', 'Population standard deviation: the square root of variance and of its interval (the same primitives).', Math.sqrt);

/** Every aggregate, in the order the schema lists them. */
export const AGGREGATES: { readonly [Op in Output['op']]: AggregateKind<Extract<Output, { op: Op }>> } = {
  count,
  sum,
  avg,
  quantile,
  variance: varianceKind,
  stddev,
};

export const AGGREGATE_NAMES = Object.keys(AGGREGATES) as Array<Output['op']>;

/** The registry entry of an output. */
export const aggregateOf = <O extends Output>(output: O): AggregateKind<O> => AGGREGATES[output.op] as unknown as AggregateKind<O>;
