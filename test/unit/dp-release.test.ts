/**
 * What a release reports and charges: every group of a public domain, empty ones too (leaving an empty group
 * out would tell which are empty, with no partition selection paid for it), in the domain's order; a charge for
 * each primitive measured and for nothing else; and no more groups than the release is bounded to.
 */
import { describe, expect, it } from 'vitest';
import { type Output, planAggregate } from '../../src/dp/aggregate-plan.ts';
import type { AggregateRow } from '../../src/dp/aggregate-sql.ts';
import { releaseAggregate } from '../../src/dp/release.ts';
import type { ViewTable } from '../../src/policy/index.ts';

const viewTable = {
  table: { columns: new Map([['amount', { name: 'amount', type: 'int', bounds: [0, 10], precision: 0 }]]) },
  policy: { maxRowsPerSubject: 1 },
} as unknown as ViewTable;

const plan = (outputs: Output[], groupBy = ['g']) =>
  planAggregate({ viewTable, outputs, groupBy, publicGroups: true, mechanism: 'LAPLACE', epsilon: 1e6, delta: 0 });
const row = (keys: string[], count: bigint, sum = 0n): AggregateRow => ({
  keys,
  count,
  sums: new Map([['amount', sum]]),
  squares: new Map(),
  histograms: new Map(),
});

describe('a release over public group keys', () => {
  it('reports every group of the domain in its order, those without rows too, by their keys', () => {
    const { groups } = releaseAggregate(plan([{ op: 'count' }]), [row(['c'], 5n)], [['a', 'b', 'c']]);
    expect(groups.map((group) => group.key)).toEqual([{ g: 'a' }, { g: 'b' }, { g: 'c' }]);
    // ε = 10⁶: the noise is zero with overwhelming probability; the counts show which row went where.
    expect(groups.map((group) => group.values.count!.value)).toEqual([0, 0, 5]);
  });

  it('reports the groups of several keys as their product, a null key as null', () => {
    const { groups } = releaseAggregate(plan([{ op: 'count' }], ['g', 'h']), [row(['a', 'y'], 2n)], [['a'], ['x', 'y']]);
    expect(groups.map((group) => [group.key, group.values.count!.value])).toEqual([
      [{ g: 'a', h: 'x' }, 0],
      [{ g: 'a', h: 'y' }, 2],
    ]);
  });

  it('charges each primitive it measures, and a count only when one is measured', () => {
    expect(releaseAggregate(plan([{ op: 'sum', field: 'amount' }]), [], [['a']]).costs).toEqual([{ epsilon: 1e6, delta: 0 }]);
    expect(releaseAggregate(plan([{ op: 'count' }, { op: 'sum', field: 'amount' }]), [], [['a']]).costs).toEqual([
      { epsilon: 5e5, delta: 0 },
      { epsilon: 5e5, delta: 0 },
    ]);
  });

  it('releases up to 10,000 groups and refuses more', () => {
    const domain = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
    expect(releaseAggregate(plan([{ op: 'count' }]), [], [domain(10_000)]).groups).toHaveLength(10_000);
    expect(() => releaseAggregate(plan([{ op: 'count' }], ['g', 'h']), [], [domain(101), domain(100)])).toThrow('grouping yields 10100 groups; at most 10000');
  });
});
