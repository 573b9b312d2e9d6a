/**
 * Every interval an answer gives holds the true value with its stated confidence (95%), checked by
 * drawing many releases of the same data through releaseAggregate. The check rejects a coverage rate more
 * than 4 standard errors below 95% (a correct interval fails it with probability ≈ 3·10⁻⁵; at 3 standard
 * errors, the file's nine such checks failed a correct implementation about one run in eighty), and each test
 * also shows that the check rejects a too-narrow interval on the same draws, so it can fail. The average's own
 * error is checked against theory too, where the bounds it is clamped to do not bind.
 */
import { describe, expect, it } from 'vitest';
import { type Mechanism, type Output, planAggregate } from '../../src/dp/aggregate-plan.ts';
import { type AggregateRow, QUANTILE_BINS } from '../../src/dp/aggregate-sql.ts';
import { makeDiscreteLaplace } from '../../src/dp/mechanisms.ts';
import { makePartitionSelection } from '../../src/dp/partition-selection.ts';
import { makeQuantile } from '../../src/dp/quantile.ts';
import { type NoisyValue, releaseAggregate } from '../../src/dp/release.ts';
import type { ViewTable } from '../../src/policy/index.ts';

const CONFIDENCE = 0.95;
const K = 5;
const [LOWER, UPPER] = [0, 100];

function coverageHolds(hits: number, trials: number): boolean {
  return hits / trials >= CONFIDENCE - 4 * Math.sqrt((CONFIDENCE * (1 - CONFIDENCE)) / trials);
}

const viewTable = {
  table: { columns: new Map([['amount', { name: 'amount', type: 'numeric', bounds: [LOWER, UPPER], precision: 0 }]]) },
  policy: { maxRowsPerSubject: K },
} as unknown as ViewTable;

function plan(outputs: Output[], mechanism: Mechanism, publicGroups: boolean, epsilon = 1) {
  return planAggregate({ viewTable, outputs, groupBy: publicGroups ? ['g'] : [], publicGroups, mechanism, epsilon, delta: 1e-6 });
}

/** `groups` independent groups holding the same values. */
function rows(values: readonly number[], groups: number): AggregateRow[] {
  const histogram = new Array<number>(QUANTILE_BINS).fill(0);
  const width = (UPPER - LOWER) / QUANTILE_BINS;
  for (const x of values) histogram[Math.min(QUANTILE_BINS - 1, Math.floor((x - LOWER) / width))]! += 1;
  const sum = BigInt(values.reduce((total, x) => total + Math.round(x), 0));
  return Array.from({ length: groups }, (_, i) => ({
    keys: [`g${i}`],
    count: BigInt(values.length),
    sums: new Map([['amount', sum]]),
    histograms: new Map([['amount', histogram]]),
  }));
}

const covers = (v: NoisyValue, truth: number) => v.low! <= truth && truth <= v.high!;
const hitsOf = (values: readonly NoisyValue[], truth: number) => values.filter((v) => covers(v, truth)).length;

/** percentile_cont: linear interpolation between the order statistics around position q·(n-1). */
function percentileCont(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const below = sorted[Math.floor(position)]!;
  return below + (sorted[Math.ceil(position)]! - below) * (position - Math.floor(position));
}

describe('95% intervals on groups with public keys (no selection)', () => {
  const values = Array.from({ length: 40 }, (_, i) => (i * 37) % 101);
  const truth = { count: values.length, sum: values.reduce((a, b) => a + b, 0) };
  const draws = 2500;

  it.each(['LAPLACE', 'GAUSSIAN'] as const)('count, sum and avg cover (%s)', (mechanism) => {
    const outputs: Output[] = [{ op: 'count' }, { op: 'sum', field: 'amount' }, { op: 'avg', field: 'amount' }];
    const { groups } = releaseAggregate(plan(outputs, mechanism, true), rows(values, draws), [Array.from({ length: draws }, (_, i) => `g${i}`)]);
    expect(groups).toHaveLength(draws);
    const of = (key: string) => groups.map((g) => g.values[key]!);
    expect(coverageHolds(hitsOf(of('count'), truth.count), draws)).toBe(true);
    expect(coverageHolds(hitsOf(of('sum:amount'), truth.sum), draws)).toBe(true);
    expect(coverageHolds(hitsOf(of('avg:amount'), truth.sum / truth.count), draws)).toBe(true);
    // The same check rejects intervals of 60% of the width.
    const narrowed = (v: NoisyValue) => ({ ...v, low: v.value! - 0.6 * (v.value! - v.low!), high: v.value! + 0.6 * (v.high! - v.value!) });
    expect(coverageHolds(hitsOf(of('count').map(narrowed), truth.count), draws)).toBe(false);
    expect(coverageHolds(hitsOf(of('sum:amount').map(narrowed), truth.sum), draws)).toBe(false);
  });
});

describe('95% intervals on groups kept by partition selection (given that they were released)', () => {
  const outputs: Output[] = [{ op: 'count' }, { op: 'sum', field: 'amount' }, { op: 'avg', field: 'amount' }];

  it.each(['LAPLACE', 'GAUSSIAN'] as const)('cover near the threshold, where only positive noise gets through (%s)', (mechanism) => {
    const aggregatePlan = plan(outputs, mechanism, false);
    const selection = makePartitionSelection({ maxRowsPerSubject: K, epsilon: aggregatePlan.share.epsilon, delta: aggregatePlan.share.partitionDelta });
    const tau = Number(selection.threshold);
    const symmetric = makeDiscreteLaplace({ sensitivity: K, epsilon: aggregatePlan.share.epsilon });
    for (const count of [tau - 15, tau, tau + 15]) {
      const released = 2000;
      const values = Array.from({ length: count }, (_, i) => (i * 53) % 101);
      const sum = values.reduce((a, b) => a + b, 0);
      const trials = Math.ceil((1.15 * released) / selection.releaseProbability(count));
      const { groups } = releaseAggregate(aggregatePlan, rows(values, trials), [undefined]);
      expect(groups.length, `count ${count}`).toBeGreaterThanOrEqual(released * 0.9);
      const of = (key: string) => groups.map((g) => g.values[key]!);
      expect(coverageHolds(hitsOf(of('count'), count), groups.length), `count ${count}`).toBe(true);
      expect(coverageHolds(hitsOf(of('sum:amount'), sum), groups.length), `count ${count}`).toBe(true);
      expect(coverageHolds(hitsOf(of('avg:amount'), sum / count), groups.length), `count ${count}`).toBe(true);
      if (count < tau) {
        // The unconditional interval noisy ± h misses: given release, the noise was at least τ - count.
        const h = BigInt(symmetric.noise.halfWidth(CONFIDENCE));
        const unconditional = of('count').map((v) => {
          const interval = { lower: BigInt(v.value!) - h, upper: BigInt(v.value!) + h };
          return { ...v, low: Number(interval.lower), high: Number(interval.upper) };
        });
        expect(coverageHolds(hitsOf(unconditional, count), groups.length), `count ${count}`).toBe(false);
      }
    }
  });
});

describe('95% intervals on quantiles', () => {
  const cases = [
    { n: 1, values: [37.3] },
    { n: 100, values: Array.from({ length: 100 }, (_, i) => 100 * ((i + 0.5) / 100) ** 3) },
    { n: 1000, values: Array.from({ length: 1000 }, (_, i) => 100 * ((i + 0.5) / 1000) ** 3) },
  ];

  it.each(cases)('hold the median and the 90th percentile, n = $n', ({ values }) => {
    const draws = 2000;
    for (const q of [0.5, 0.9]) {
      const outputs: Output[] = [{ op: 'quantile', field: 'amount', q }];
      const { groups } = releaseAggregate(plan(outputs, 'LAPLACE', true), rows(values, draws), [Array.from({ length: draws }, (_, i) => `g${i}`)]);
      const released = groups.map((g) => g.values[`quantile:amount:${q}`]!);
      const sorted = [...values].sort((a, b) => a - b);
      const inverseCdf = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
      const hits = released.filter((v) => covers(v, percentileCont(values, q)) && covers(v, inverseCdf)).length;
      expect(coverageHolds(hits, draws), `q ${q}: ${hits}/${draws}`).toBe(true);
    }
  });

  it('rejects the released bin as an interval (what the answer gave before)', () => {
    const { values } = cases[2]!;
    const draws = 2000;
    const histogram = rows(values, 1)[0]!.histograms.get('amount')!;
    const mechanism = makeQuantile({ lower: LOWER, upper: UPPER, bins: QUANTILE_BINS, quantile: 0.5, epsilon: 1, maxContributionsPerSubject: K });
    const truth = percentileCont(values, 0.5);
    let hits = 0;
    for (let i = 0; i < draws; i++) {
      const { binLower, binUpper } = mechanism.release(histogram);
      if (binLower <= truth && truth <= binUpper) hits += 1;
    }
    expect(coverageHolds(hits, draws)).toBe(false);
  });
});

describe('the average, where the bounds it is clamped to do not bind', () => {
  it('is unbiased, with the spread its sum and count noise give it (Laplace, ±10% over 4000 draws)', () => {
    // Values near the upper bound, so that the count's noise weighs in the average's error as much as the sum's.
    const values = Array.from({ length: 1000 }, (_, i) => 60 + (i % 41));
    const truth = values.reduce((a, b) => a + b, 0) / values.length;
    const draws = 4000;
    const aggregatePlan = plan([{ op: 'avg', field: 'amount' }], 'LAPLACE', true);
    const { groups } = releaseAggregate(aggregatePlan, rows(values, draws), [Array.from({ length: draws }, (_, i) => `g${i}`)]);
    const errors = groups.map((g) => g.values['avg:amount']!.value! - truth);
    // (S + s) / (N + c) ≈ truth + (s - truth · c) / N for independent noises s and c: N is large beside their scales.
    const noiseVariance = (sensitivity: number) => makeDiscreteLaplace({ sensitivity, epsilon: aggregatePlan.share.epsilon }).noise.variance;
    const theory = Math.sqrt(noiseVariance(K * UPPER) + truth ** 2 * noiseVariance(K)) / values.length;
    const mean = errors.reduce((a, b) => a + b, 0) / draws;
    const std = Math.sqrt(errors.reduce((total, e) => total + (e - mean) ** 2, 0) / (draws - 1));
    expect(Math.abs(mean)).toBeLessThan((5 * theory) / Math.sqrt(draws));
    expect(std / theory).toBeGreaterThan(0.9);
    expect(std / theory).toBeLessThan(1.1);
  });
});
