/**
 * How an aggregate request's budget is split: ε equally among its primitives, δ between partition selection and
 * the Gaussian primitives. A δ share too large gives each Gaussian primitive a ρ too large (too little noise)
 * for what is charged, so every split is pinned, with the requests that cannot be planned at all.
 */
import { describe, expect, it } from 'vitest';
import { rhoForEpsilon } from '../../src/dp/accountant.ts';
import {
  AggregateRequestError,
  groupableColumns,
  groupDomain,
  measurableColumns,
  type Mechanism,
  type Output,
  planAggregate,
  SUBJECT_JURISDICTION,
} from '../../src/dp/aggregate-plan.ts';
import type { CatalogColumn } from '../../src/config/index.ts';
import type { ViewTable } from '../../src/policy/index.ts';

const column = (name: string, extra: Partial<CatalogColumn> = {}) => ({ name, type: 'numeric', bounds: [0, 100], ...extra }) as CatalogColumn;
const amount = column('amount');
const category = column('category', { domain: ['food', 'travel'] });
const viewTable = {
  table: { name: 'transactions', columns: new Map([['amount', amount]]), jurisdiction: { table: 'customers', column: 'residency' } },
  fields: new Map([
    ['amount', { column: amount, measurable: true, groupable: false }],
    ['category', { column: category, measurable: false, groupable: true }],
    ['note', { column: column('note'), measurable: false, groupable: false }],
  ]),
  policy: { maxRowsPerSubject: 4 },
} as unknown as ViewTable;

const plan = (outputs: Output[], mechanism: Mechanism, publicGroups: boolean, delta = 1e-6, epsilon = 1.2) =>
  planAggregate({ viewTable, outputs, groupBy: ['category'], publicGroups, mechanism, epsilon, delta });

const sum: Output = { op: 'sum', field: 'amount' };
const median: Output = { op: 'quantile', field: 'amount', q: 0.5 };

describe('the budget split of an aggregate', () => {
  it('Laplace over public groups: ε / m per primitive, no δ at all', () => {
    const p = plan([{ op: 'avg', field: 'amount' }, median], 'LAPLACE', true, 0);
    expect(p.primitives).toEqual([{ op: 'count' }, sum, median]);
    expect(p.share).toEqual({ epsilon: 1.2 / 3, rho: null, partitionDelta: 0 });
    expect(p).toMatchObject({ mechanism: 'LAPLACE', epsilon: 1.2, delta: 0, publicGroups: true, groupBy: ['category'], rowsPerSubject: 4 });
  });

  it('Laplace over keys that are not public: a count is added for partition selection, which takes all of δ', () => {
    const p = plan([sum], 'LAPLACE', false);
    expect(p.primitives).toEqual([sum, { op: 'count' }]);
    expect(p.share).toEqual({ epsilon: 0.6, rho: null, partitionDelta: 1e-6 });
  });

  it('Gaussian over public groups: δ shared by the Gaussian primitives only (a quantile takes none)', () => {
    const p = plan([sum, { op: 'count' }, median], 'GAUSSIAN', true);
    expect(p.share).toEqual({ epsilon: 1.2 / 3, rho: rhoForEpsilon(1.2 / 3, 1e-6 / 2), partitionDelta: 0 });
  });

  it('Gaussian over keys that are not public: half of δ to partition selection, the rest shared', () => {
    const p = plan([sum, median], 'GAUSSIAN', false);
    expect(p.primitives).toEqual([sum, median, { op: 'count' }]);
    expect(p.share).toEqual({ epsilon: 1.2 / 3, rho: rhoForEpsilon(1.2 / 3, 1e-6 / 2 / 2), partitionDelta: 1e-6 / 2 });
  });

  it('Gaussian with quantiles only: the one share of δ is whole', () => {
    expect(plan([median], 'GAUSSIAN', true).share).toEqual({ epsilon: 1.2, rho: rhoForEpsilon(1.2, 1e-6), partitionDelta: 0 });
  });

  it('shares one primitive between the outputs that need it', () => {
    const p = plan([sum, { op: 'avg', field: 'amount' }, { op: 'count' }], 'LAPLACE', true);
    expect(p.primitives).toEqual([sum, { op: 'count' }]);
    expect(p.share.epsilon).toBe(0.6);
  });
});

describe('requests that cannot be planned', () => {
  it.each([
    ['GAUSSIAN', true, 0, 'the Gaussian mechanism needs delta > 0'],
    ['GAUSSIAN', false, Number.NaN, 'the Gaussian mechanism needs delta > 0'],
    ['LAPLACE', false, 0, 'grouping by a non-public key needs delta > 0 (partition selection)'],
    ['LAPLACE', false, -1e-9, 'grouping by a non-public key needs delta > 0 (partition selection)'],
  ] as const)('%s over public groups %s with δ = %s', (mechanism, publicGroups, delta, message) => {
    const refused = () => plan([sum], mechanism, publicGroups, delta);
    expect(refused).toThrow(AggregateRequestError);
    expect(refused).toThrow(message);
  });

  it('no aggregate at all', () => {
    const error = (() => {
      try {
        plan([], 'LAPLACE', true);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(AggregateRequestError);
    expect(error).toMatchObject({ name: 'AggregateRequestError', message: 'select at least one of count, sum, avg, quantile, variance, stddev under groups' });
  });
});

describe('what a view offers to aggregate', () => {
  it('measures its measurable fields and groups by its groupable ones and the subject’s jurisdiction', () => {
    expect(measurableColumns(viewTable)).toEqual([amount]);
    // The name agents group by (README): part of the schema's contract.
    expect(groupableColumns(viewTable)).toEqual(['category', 'subject_jurisdiction']);
    const withoutJurisdiction = { ...viewTable, table: { ...viewTable.table, jurisdiction: undefined } } as unknown as ViewTable;
    expect(groupableColumns(withoutJurisdiction)).toEqual(['category']);
  });

  it('knows a group key’s public domain from the catalog, the jurisdiction’s from its own table', () => {
    const residency = column('residency', { domain: ['EU-DE', 'SG'] });
    const lookup = (table: string) => ({ columns: new Map(table === 'customers' ? [['residency', residency]] : []) });
    expect(groupDomain(viewTable, 'category', lookup)).toEqual(['food', 'travel']);
    expect(groupDomain(viewTable, SUBJECT_JURISDICTION, lookup)).toEqual(['EU-DE', 'SG']);
    expect(groupDomain(viewTable, 'note', lookup)).toBeUndefined();
    expect(groupDomain(viewTable, 'unknown', lookup)).toBeUndefined();
    expect(groupDomain(viewTable, SUBJECT_JURISDICTION, () => ({ columns: new Map() }))).toBeUndefined();
  });
});
