/**
 * The aggregate registry as the schema, the planner and the release read it, and each aggregate's answer
 * post-processed from given noisy primitives: exact values and intervals, so an interval that is merely wider
 * (which the sampled coverage tests would not notice) or a clamp at the wrong bound fails here.
 */
import { describe, expect, it } from 'vitest';
import type { Primitive } from '../../src/dp/aggregate-terms.ts';
import { AGGREGATE_NAMES, AGGREGATES, aggregateOf, type GroupPrimitives, type NoisyStatistic, type NoisyValue } from '../../src/dp/aggregates.ts';

type Interval = [low: number, high: number];
const SPREAD_PART = 1 - 0.05 / 3;

/** One group's released primitives, fixed: each a value and the interval it gives at any confidence, which is noted. */
function group(
  released: Partial<Record<'count' | 'sum' | 'sum_of_squares', [value: number, interval: Interval]>>,
  column: { bounds: Interval; precision?: number } = { bounds: [0, 100] },
) {
  const asked: Array<[string, number]> = [];
  const statistic = (op: string, [value, [low, high]]: [number, Interval]): NoisyStatistic => ({
    value,
    interval(confidence) {
      asked.push([op, confidence]);
      return { low, high };
    },
  });
  const primitives: GroupPrimitives = {
    released: ((primitive: Primitive) => {
      if (primitive.op === 'quantile') return { value: 7, low: 6, high: 8, confidence: 0.95, rankError: 2 } satisfies NoisyValue;
      const given = released[primitive.op];
      if (!given) throw new Error(`${primitive.op} was not released`);
      return statistic(primitive.op, given);
    }) as GroupPrimitives['released'],
    column: (field) => ({ name: field, type: 'numeric', ...column }) as unknown as ReturnType<GroupPrimitives['column']>,
    rowsPerSubject: 3,
  };
  return { primitives, asked };
}

describe('the aggregate registry', () => {
  it('lists every aggregate in schema order, with its field in the schema', () => {
    expect(AGGREGATE_NAMES).toEqual(['count', 'sum', 'avg', 'quantile', 'variance', 'stddev']);
    expect(AGGREGATE_NAMES.map((name) => AGGREGATES[name].measuresField)).toEqual([false, true, true, true, true, true]);
    expect(AGGREGATE_NAMES.map((name) => AGGREGATES[name].sdl('M'))).toEqual([
      'count: NoisyValue!',
      'sum(field: M!): NoisyValue!',
      'avg(field: M!): NoisyValue!',
      'quantile(field: M!, q: Float!): NoisyValue!',
      '"""Population variance of the clamped values, from a noisy count, sum and sum of squares (three primitives, each charged)."""\n  variance(field: M!): NoisyValue!',
      '"""Population standard deviation: the square root of variance and of its interval (the same primitives)."""\n  stddev(field: M!): NoisyValue!',
    ]);
  });

  it('reads each aggregate’s arguments into its output, and the primitives it costs', () => {
    const args = { field: 'amount', q: 0.9 };
    expect(AGGREGATE_NAMES.map((name) => AGGREGATES[name].output(args))).toEqual([
      { op: 'count' },
      { op: 'sum', field: 'amount' },
      { op: 'avg', field: 'amount' },
      { op: 'quantile', field: 'amount', q: 0.9 },
      { op: 'variance', field: 'amount' },
      { op: 'stddev', field: 'amount' },
    ]);
    const spread = [{ op: 'count' }, { op: 'sum', field: 'amount' }, { op: 'sum_of_squares', field: 'amount' }];
    expect(AGGREGATE_NAMES.map((name) => aggregateOf(AGGREGATES[name].output(args)).primitives(AGGREGATES[name].output(args) as never))).toEqual([
      [{ op: 'count' }],
      [{ op: 'sum', field: 'amount' }],
      [{ op: 'count' }, { op: 'sum', field: 'amount' }],
      [{ op: 'quantile', field: 'amount', q: 0.9 }],
      spread,
      spread,
    ]);
  });

  it('accepts every output but a quantile outside [0, 1], the ends included', () => {
    for (const name of AGGREGATE_NAMES) expect(AGGREGATES[name].invalid(AGGREGATES[name].output({ field: 'f', q: 0.5 }) as never)).toBeNull();
    for (const q of [0, 1]) expect(AGGREGATES.quantile.invalid({ op: 'quantile', field: 'f', q })).toBeNull();
    for (const q of [-0.01, 1.01]) expect(AGGREGATES.quantile.invalid({ op: 'quantile', field: 'f', q })).toBe('q must be between 0 and 1.');
  });
});

describe('each aggregate’s answer from its noisy primitives', () => {
  it('count: never below zero, its interval neither, at 95 %', () => {
    const negative = group({ count: [-3, [-5, 2]] });
    expect(AGGREGATES.count.release({ op: 'count' }, negative.primitives)).toEqual({ value: 0, low: 0, high: 2, confidence: 0.95, rankError: null });
    expect(negative.asked).toEqual([['count', 0.95]]);
    expect(AGGREGATES.count.release({ op: 'count' }, group({ count: [7, [5, 9]] }).primitives)).toEqual({
      value: 7,
      low: 5,
      high: 9,
      confidence: 0.95,
      rankError: null,
    });
    expect(AGGREGATES.count.release({ op: 'count' }, group({ count: [-1, [-2, -1]] }).primitives)).toMatchObject({ value: 0, low: 0, high: 0 });
  });

  it('sum: the noisy sum and its 95 % interval as they are', () => {
    const g = group({ sum: [-12.5, [-20, -5]] });
    expect(AGGREGATES.sum.release({ op: 'sum', field: 'f' }, g.primitives)).toEqual({ value: -12.5, low: -20, high: -5, confidence: 0.95, rankError: null });
    expect(g.asked).toEqual([['sum', 0.95]]);
  });

  it('avg: S/n, between the corners of the box of the two 97.5 % intervals, clamped to the bounds', () => {
    const g = group({ count: [4, [3, 5]], sum: [40, [30, 50]] });
    expect(AGGREGATES.avg.release({ op: 'avg', field: 'f' }, g.primitives)).toEqual({ value: 10, low: 6, high: 50 / 3, confidence: 0.95, rankError: null });
    expect(g.asked).toEqual([
      ['sum', 0.975],
      ['count', 0.975],
    ]);
    // A count below 1 divides as 1; answers past the bounds are clamped to them.
    const small = group({ count: [0, [-2, 0.5]], sum: [40, [-30, 500]] }, { bounds: [0, 100] });
    expect(AGGREGATES.avg.release({ op: 'avg', field: 'f' }, small.primitives)).toMatchObject({ value: 40, low: 0, high: 100 });
  });

  it('quantile: the released estimate as it is', () => {
    expect(AGGREGATES.quantile.release({ op: 'quantile', field: 'f', q: 0.5 }, group({}).primitives)).toEqual({
      value: 7,
      low: 6,
      high: 8,
      confidence: 0.95,
      rankError: 2,
    });
  });

  // Bounds [0, 100]: the middle c = 50. Q is Σ(x − c)².
  const n: [number, Interval] = [10, [9.9, 10.1]];
  const q: [number, Interval] = [5000, [4950, 5050]];

  it('variance: Q/n − (S/n − c)², its interval from the box’s corners when the mean’s range excludes c', () => {
    const g = group({ count: n, sum: [700, [695, 705]], sum_of_squares: q });
    const answer = AGGREGATES.variance.release({ op: 'variance', field: 'f' }, g.primitives);
    expect(answer).toMatchObject({ confidence: 0.95, rankError: null });
    expect(answer.value).toBeCloseTo(5000 / 10 - (700 / 10 - 50) ** 2, 9);
    expect(answer.low).toBeCloseTo(4950 / 10.1 - (705 / 9.9 - 50) ** 2, 9);
    expect(answer.high).toBeCloseTo(5050 / 9.9 - (695 / 10.1 - 50) ** 2, 9);
    expect(g.asked.map(([, confidence]) => confidence)).toEqual([SPREAD_PART, SPREAD_PART, SPREAD_PART]);
    expect(new Set(g.asked.map(([op]) => op))).toEqual(new Set(['count', 'sum', 'sum_of_squares']));
  });

  it('variance: the smaller offset at the top of its interval when the mean’s range lies below c', () => {
    const answer = AGGREGATES.variance.release({ op: 'variance', field: 'f' }, group({ count: n, sum: [300, [295, 305]], sum_of_squares: q }).primitives);
    expect(answer.low).toBeCloseTo(4950 / 10.1 - (295 / 10.1 - 50) ** 2, 9);
    expect(answer.high).toBeCloseTo(5050 / 9.9 - (305 / 9.9 - 50) ** 2, 9);
  });

  it('variance: no mean offset at the top of its interval when the mean’s range holds c', () => {
    const answer = AGGREGATES.variance.release({ op: 'variance', field: 'f' }, group({ count: n, sum: [500, [495, 505]], sum_of_squares: q }).primitives);
    expect(answer.low).toBeCloseTo(4950 / 10.1 - (505 / 9.9 - 50) ** 2, 9);
    expect(answer.high).toBeCloseTo(5050 / 9.9, 9);
  });

  it('variance: clamped to [0, ((upper − lower)/2)²], about the middle of bounds kept in tenths', () => {
    // Bounds [-1.25, 3.75] at one decimal: c = 1.25, the largest variance 2.5² = 6.25.
    const column = { bounds: [-1.25, 3.75] as Interval, precision: 1 };
    const wide = group({ count: [4, [1, 8]], sum: [5, [-40, 40]], sum_of_squares: [400, [0, 800]] }, column);
    expect(AGGREGATES.variance.release({ op: 'variance', field: 'f' }, wide.primitives)).toMatchObject({ value: 6.25, low: 0, high: 6.25 });
    // S/n = c exactly: the variance is Q/n, 2 here, not Q/n − (1.25 − 1.5)² as a centre rounded to units would make it.
    const centred = group({ count: [4, [4, 4]], sum: [5, [5, 5]], sum_of_squares: [8, [8, 8]] }, column);
    expect(AGGREGATES.variance.release({ op: 'variance', field: 'f' }, centred.primitives)).toMatchObject({ value: 2, low: 2, high: 2 });
    const negative = group({ count: [4, [4, 4]], sum: [40, [40, 40]], sum_of_squares: [0, [0, 0]] }, { bounds: [0, 100] });
    expect(AGGREGATES.variance.release({ op: 'variance', field: 'f' }, negative.primitives)).toMatchObject({ value: 0, low: 0, high: 0 });
  });

  it('stddev: the square roots of the variance and of its interval', () => {
    const primitives = () => group({ count: n, sum: [700, [695, 705]], sum_of_squares: q }).primitives;
    const variance = AGGREGATES.variance.release({ op: 'variance', field: 'f' }, primitives());
    expect(AGGREGATES.stddev.release({ op: 'stddev', field: 'f' }, primitives())).toEqual({
      value: Math.sqrt(variance.value!),
      low: Math.sqrt(variance.low!),
      high: Math.sqrt(variance.high!),
      confidence: 0.95,
      rankError: null,
    });
  });
});
