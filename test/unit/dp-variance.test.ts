/**
 * variance and stddev, drawn many times through releaseAggregate: their cost (three primitives, shared with
 * count, sum and avg), the spread of their error against the delta method's prediction from the three noises, and
 * the coverage of their 95% intervals. Each check is shown to reject a wrong version on the same draws: the error
 * a sum of squares about zero (sensitivity k·upper² instead of k·((upper - lower)/2)²) would give, and intervals
 * of a fraction of the width.
 */
import { describe, expect, it } from 'vitest';
import { type Mechanism, type Output, planAggregate } from '../../src/dp/aggregate-plan.ts';
import type { AggregateRow } from '../../src/dp/aggregate-sql.ts';
import { makeDiscreteLaplace } from '../../src/dp/mechanisms.ts';
import { type NoisyValue, releaseAggregate } from '../../src/dp/release.ts';
import type { ViewTable } from '../../src/policy/index.ts';

const CONFIDENCE = 0.95;
const K = 5;
const [LOWER, UPPER] = [0, 100];

const viewTable = {
  table: { columns: new Map([['amount', { name: 'amount', type: 'numeric', bounds: [LOWER, UPPER], precision: 0 }]]) },
  policy: { maxRowsPerSubject: K },
} as unknown as ViewTable;

function plan(outputs: Output[], mechanism: Mechanism, epsilon = 1) {
  return planAggregate({ viewTable, outputs, groupBy: ['g'], publicGroups: true, mechanism, epsilon, delta: 1e-6 });
}

/** `groups` independent groups holding the same integer values, with the sums SQL would give them. */
function rows(values: readonly number[], groups: number): AggregateRow[] {
  const sum = BigInt(values.reduce((total, x) => total + x, 0));
  const squares = BigInt(values.reduce((total, x) => total + (2 * x - (LOWER + UPPER)) ** 2, 0));
  return Array.from({ length: groups }, (_, i) => ({
    keys: [`g${i}`],
    count: BigInt(values.length),
    sums: new Map([['amount', sum]]),
    squares: new Map([['amount', squares]]),
    histograms: new Map(),
  }));
}

const domain = (groups: number) => [Array.from({ length: groups }, (_, i) => `g${i}`)];

function populationVariance(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.reduce((total, x) => total + (x - mean) ** 2, 0) / values.length;
}

function coverageHolds(hits: number, trials: number): boolean {
  return hits / trials >= CONFIDENCE - 4 * Math.sqrt((CONFIDENCE * (1 - CONFIDENCE)) / trials);
}
const hitsOf = (values: readonly NoisyValue[], truth: number) => values.filter((v) => v.low! <= truth && truth <= v.high!).length;

describe('variance and stddev', () => {
  it('cost three primitives at ε/3 each, shared with count, sum and avg of the same field', () => {
    const alone = plan([{ op: 'variance', field: 'amount' }], 'LAPLACE');
    expect(alone.primitives.map((p) => p.op)).toEqual(['count', 'sum', 'sum_of_squares']);
    const { costs } = releaseAggregate(alone, rows([1, 2, 3], 1), domain(1));
    expect(costs).toEqual([1, 2, 3].map(() => ({ epsilon: 1 / 3, delta: 0 })));
    const together = plan(
      [{ op: 'count' }, { op: 'sum', field: 'amount' }, { op: 'avg', field: 'amount' }, { op: 'variance', field: 'amount' }, { op: 'stddev', field: 'amount' }],
      'LAPLACE',
    );
    expect(together.primitives).toHaveLength(3);
    expect(together.share.epsilon).toBeCloseTo(1 / 3, 12);
  });

  it('stay within [0, ((upper - lower)/2)²] and [0, (upper - lower)/2], the interval too, however noisy', () => {
    const { groups } = releaseAggregate(
      plan(
        [
          { op: 'variance', field: 'amount' },
          { op: 'stddev', field: 'amount' },
        ],
        'LAPLACE',
        0.01,
      ),
      rows([0, 100], 500),
      domain(500),
    );
    for (const group of groups) {
      const [variance, stddev] = [group.values['variance:amount']!, group.values['stddev:amount']!];
      for (const v of [variance.low!, variance.value!, variance.high!]) expect(v >= 0 && v <= 2500).toBe(true);
      expect(stddev.value).toBeCloseTo(Math.sqrt(variance.value!), 9);
      expect(stddev.high!).toBeLessThanOrEqual(50);
    }
  });

  // Values 60…100 (mean far from the bounds' middle, so the sum's noise weighs in) and many of them, so the
  // clamp to [0, 2500] does not bind and the first-order (delta method) error is the error.
  const values = Array.from({ length: 20_000 }, (_, i) => 60 + (i % 41));
  const truth = populationVariance(values);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const centre = (LOWER + UPPER) / 2;

  /** The delta method's std of V̂ = Q̂/n̂ - (Ŝ/n̂ - c)² for Laplace noises of these sensitivities at ε/3 each. */
  function theory(squaresSensitivity: number, squaresUnits: number): number {
    const noise = (sensitivity: number) => makeDiscreteLaplace({ sensitivity, epsilon: 1 / 3 }).noise.variance;
    const offset = mean - centre;
    const bySquares = 1 / n;
    const bySum = (-2 * offset) / n;
    const byCount = (-(truth + offset ** 2) + 2 * offset * mean) / n;
    return Math.sqrt(bySquares ** 2 * (noise(squaresSensitivity) / squaresUnits ** 2) + bySum ** 2 * noise(K * UPPER) + byCount ** 2 * noise(K));
  }

  it('has the error its three noises predict (Laplace, unbiased, std within ±10% over 3000 draws), which a sum of squares about zero would not', () => {
    const draws = 3000;
    const { groups } = releaseAggregate(plan([{ op: 'variance', field: 'amount' }], 'LAPLACE'), rows(values, draws), domain(draws));
    const errors = groups.map((g) => g.values['variance:amount']!.value! - truth);
    const errorMean = errors.reduce((a, b) => a + b, 0) / draws;
    const std = Math.sqrt(errors.reduce((total, e) => total + (e - errorMean) ** 2, 0) / (draws - 1));
    const within = (expected: number) => std / expected > 0.9 && std / expected < 1.1;
    // Σ(2x - (L + U))² in quarter units: one row moves it by at most (U - L)².
    const expected = theory(K * (UPPER - LOWER) ** 2, 4);
    expect(Math.abs(errorMean)).toBeLessThan((5 * expected) / Math.sqrt(draws));
    expect(within(expected), `std ${std}, theory ${expected}`).toBe(true);
    // About zero, one row moves Σx² by upper²: four times the noise on the squares.
    expect(within(theory(K * UPPER ** 2, 1))).toBe(false);
  });

  it.each(['LAPLACE', 'GAUSSIAN'] as const)(
    'intervals at confidence 0.95 hold the true variance and stddev (%s), and a third of their width would not',
    (mechanism) => {
      const spread = Array.from({ length: 300 }, (_, i) => (i * 37) % 101);
      const draws = 2000;
      const outputs: Output[] = [
        { op: 'variance', field: 'amount' },
        { op: 'stddev', field: 'amount' },
      ];
      const { groups } = releaseAggregate(plan(outputs, mechanism), rows(spread, draws), domain(draws));
      const variance = groups.map((g) => g.values['variance:amount']!);
      const stddev = groups.map((g) => g.values['stddev:amount']!);
      const trueVariance = populationVariance(spread);
      expect(coverageHolds(hitsOf(variance, trueVariance), draws)).toBe(true);
      expect(coverageHolds(hitsOf(stddev, Math.sqrt(trueVariance)), draws)).toBe(true);
      const narrowed = (v: NoisyValue) => ({ ...v, low: v.value! - (v.value! - v.low!) / 3, high: v.value! + (v.high! - v.value!) / 3 });
      expect(coverageHolds(hitsOf(variance.map(narrowed), trueVariance), draws)).toBe(false);
    },
  );
});
