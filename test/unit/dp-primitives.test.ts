/**
 * The noisy primitives an aggregate is released from: the mechanism each plan asks for, sums read back in the
 * column's units (cents, not whole units, for a column of precision 2), and quantiles of groups with no rows.
 */
import { describe, expect, it } from 'vitest';
import { type Mechanism, type Output, planAggregate } from '../../src/dp/aggregate-plan.ts';
import type { AggregateRow } from '../../src/dp/aggregate-sql.ts';
import { measurePrimitive, QUANTILE_BINS } from '../../src/dp/primitives.ts';
import type { ViewTable } from '../../src/policy/index.ts';

const viewTable = {
  table: {
    columns: new Map([
      ['amount', { name: 'amount', type: 'numeric', bounds: [0, 100], precision: 2 }],
      ['age', { name: 'age', type: 'int', bounds: [0, 120] }],
    ]),
  },
  policy: { maxRowsPerSubject: 1 },
} as unknown as ViewTable;

const plan = (outputs: Output[], mechanism: Mechanism, epsilon: number) =>
  planAggregate({ viewTable, outputs, groupBy: [], publicGroups: true, mechanism, epsilon, delta: 1e-6 });

const row = (sums: Array<[string, bigint]>): AggregateRow => ({ keys: [], count: 2n, sums: new Map(sums), squares: new Map(), histograms: new Map() });

describe('the primitives of a DP aggregate', () => {
  it('draws a Gaussian plan’s sums from the discrete Gaussian, charged in ρ, and a Laplace plan’s in ε', () => {
    const gaussian = plan([{ op: 'sum', field: 'age' }], 'GAUSSIAN', 1);
    expect(measurePrimitive({ op: 'sum', field: 'age' }, gaussian).cost).toEqual({ rho: gaussian.share.rho });
    const laplace = plan([{ op: 'sum', field: 'age' }], 'LAPLACE', 1);
    expect(measurePrimitive({ op: 'sum', field: 'age' }, laplace).cost).toEqual({ epsilon: 1, delta: 0 });
  });

  it('reads a sum of a column with 2 decimals in its units: 12.34 + 0.05 from 1239 cents, its interval too', () => {
    // ε this large leaves the noise at zero with overwhelming probability: what is checked is the scale.
    const sum = measurePrimitive({ op: 'sum', field: 'amount' }, plan([{ op: 'sum', field: 'amount' }], 'LAPLACE', 1e9));
    const released = sum.release(row([['amount', 1239n]])) as { value: number; interval(confidence: number): { low: number; high: number } };
    expect(released.value).toBe(12.39);
    const { low, high } = released.interval(0.95);
    expect(low).toBeLessThanOrEqual(12.39);
    expect(low).toBeGreaterThan(12.38);
    expect(high).toBeGreaterThanOrEqual(12.39);
    expect(high).toBeLessThan(12.4);
  });

  it('reads a group without a sum as a sum of zero, and a whole-unit column in whole units', () => {
    const sum = measurePrimitive({ op: 'sum', field: 'age' }, plan([{ op: 'sum', field: 'age' }], 'LAPLACE', 1e9));
    expect((sum.release(row([])) as { value: number }).value).toBe(0);
    expect((sum.release(row([['age', 77n]])) as { value: number }).value).toBe(77);
  });

  it('releases a quantile of a group with no rows from an empty histogram, within the bounds', () => {
    const quantile = measurePrimitive({ op: 'quantile', field: 'age', q: 0.5 }, plan([{ op: 'quantile', field: 'age', q: 0.5 }], 'LAPLACE', 1));
    const released = quantile.release(row([])) as { value: number; low: number; high: number; confidence: number };
    expect(released.value).toBeGreaterThanOrEqual(0);
    expect(released.value).toBeLessThanOrEqual(120);
    expect(released.confidence).toBe(0.95);
    expect(QUANTILE_BINS).toBe(100);
  });
});
