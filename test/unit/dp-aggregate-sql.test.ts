/**
 * The one statement an aggregate runs, on a real database: each data subject keeps at most k rows (chosen at
 * random, not the first k), values are clamped to the catalog's bounds, rows without a data subject never
 * count, and the counts, sums, sums of squares and histograms come back per group as the release reads them.
 * The sensitivity every mechanism is calibrated to holds only if this statement bounds what it claims to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Output, planAggregate, SUBJECT_JURISDICTION } from '../../src/dp/aggregate-plan.ts';
import { type AggregateRow, compileAggregate, QUANTILE_BINS } from '../../src/dp/aggregate-sql.ts';
import type { CatalogColumn, CatalogTable } from '../../src/config/index.ts';
import type { ViewTable } from '../../src/policy/index.ts';
import type { Condition } from '../../src/sql/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const amount = { name: 'amount', type: 'numeric', bounds: [0, 100], precision: 0 } as unknown as CatalogColumn;
const customers = {
  name: 'customers',
  primaryKey: 'id',
  columns: new Map(),
  subjectPath: [],
  jurisdiction: { table: 'customers', column: 'residency' },
} as unknown as CatalogTable;
const transactions = {
  name: 'transactions',
  primaryKey: 'id',
  columns: new Map([['amount', amount]]),
  subjectPath: [{ table: 'customers', column: 'customer_id', targetColumn: 'id' }],
  jurisdiction: { table: 'customers', column: 'residency' },
} as unknown as CatalogTable;
const lookup = (name: string) => (name === 'customers' ? customers : transactions);

const K = 2;
const viewTable = (k = K) => ({ table: transactions, fields: new Map(), policy: { maxRowsPerSubject: k } }) as unknown as ViewTable;

const outputs: Output[] = [{ op: 'count' }, { op: 'sum', field: 'amount' }, { op: 'quantile', field: 'amount', q: 0.5 }, { op: 'variance', field: 'amount' }];

function bins(entries: Record<number, number>): number[] {
  const all = new Array<number>(QUANTILE_BINS).fill(0);
  for (const [bin, count] of Object.entries(entries)) all[Number(bin)] = count;
  return all;
}

describe('the aggregate statement', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await t.db.exec(`
      CREATE TABLE customers (id int PRIMARY KEY, residency text);
      CREATE TABLE transactions (id int PRIMARY KEY, customer_id int, category text, amount numeric);
      INSERT INTO customers VALUES (1, 'EU-DE'), (2, 'SG'), (3, 'EU-FR'), (4, 'EU-DE');
      -- 1: five rows of 10 (keeps 2); 2: one of 500 (clamped to 100); 3: two of -5 (clamped to 0); no subject: never counts.
      INSERT INTO transactions VALUES (1, 1, 'food', 10), (2, 1, 'food', 10), (3, 1, 'food', 10), (4, 1, 'food', 10), (5, 1, 'food', 10),
        (6, 2, 'travel', 500), (7, 3, 'food', -5), (8, 3, 'food', -5), (9, NULL, 'food', 50), (10, 99, 'food', 50);
    `);
  });
  afterAll(() => t.drop());

  async function run(groupBy: string[], conditions: Condition[] = [], k = K, chosen = outputs): Promise<AggregateRow[]> {
    const plan = planAggregate({ viewTable: viewTable(k), outputs: chosen, groupBy, publicGroups: true, mechanism: 'LAPLACE', epsilon: 1, delta: 0 });
    const compiled = compileAggregate(plan, conditions, lookup);
    const { rows } = await t.db.query<Record<string, unknown>>(compiled.text, compiled.params);
    return compiled.parse(rows).sort((a, b) => String(a.keys).localeCompare(String(b.keys)));
  }

  it('keeps k rows per subject, clamps to the bounds, and drops rows without a subject, per group', async () => {
    expect(await run(['category'])).toEqual([
      {
        keys: ['food'],
        count: 4n,
        sums: new Map([['amount', 20n]]),
        // Σ(2x − (L + U))²: two rows of 10 and two of 0.
        squares: new Map([['amount', 2n * 80n ** 2n + 2n * 100n ** 2n]]),
        histograms: new Map([['amount', bins({ 0: 2, 10: 2 })]]),
      },
      {
        keys: ['travel'],
        count: 1n,
        sums: new Map([['amount', 100n]]),
        squares: new Map([['amount', 100n ** 2n]]),
        // The upper bound falls in the last bin, not past it.
        histograms: new Map([['amount', bins({ 99: 1 })]]),
      },
    ]);
  });

  it('groups by the data subject’s jurisdiction, found through the subject path', async () => {
    const rows = await run([SUBJECT_JURISDICTION], [], K, [{ op: 'count' }]);
    expect(rows.map((row) => [row.keys, row.count])).toEqual([
      [['EU-DE'], 2n],
      [['EU-FR'], 2n],
      [['SG'], 1n],
    ]);
    expect(rows[0]).toEqual({ keys: ['EU-DE'], count: 2n, sums: new Map(), squares: new Map(), histograms: new Map() });
  });

  it('answers one group without group keys, and applies the request’s conditions', async () => {
    expect((await run([], [], K, [{ op: 'count' }, { op: 'sum', field: 'amount' }])).map((row) => [row.keys, row.count, row.sums.get('amount')])).toEqual([
      [[], 5n, 120n],
    ]);
    const inSingapore: Condition = { kind: 'subject-jurisdiction', operator: 'in', value: ['SG'] };
    expect((await run([], [inSingapore], K, [{ op: 'count' }])).map((row) => row.count)).toEqual([1n]);
    expect((await run([], [], 1, [{ op: 'count' }])).map((row) => row.count)).toEqual([3n]);
  });

  it('combines several conditions and several group keys, histograms matched on every key', async () => {
    const conditions: Condition[] = [
      { kind: 'subject-jurisdiction', operator: 'in', value: ['EU-DE', 'SG'] },
      { kind: 'subject-jurisdiction', operator: 'notIn', value: ['SG'] },
    ];
    expect(await run(['category', SUBJECT_JURISDICTION], conditions, K, [{ op: 'quantile', field: 'amount', q: 0.5 }])).toEqual([
      { keys: ['food', 'EU-DE'], count: 2n, sums: new Map(), squares: new Map(), histograms: new Map([['amount', bins({ 10: 2 })]]) },
    ]);
    expect(
      (await run(['category', SUBJECT_JURISDICTION], [], K, [{ op: 'quantile', field: 'amount', q: 0.5 }])).map((row) => row.histograms.get('amount')),
    ).toEqual([bins({ 10: 2 }), bins({ 0: 2 }), bins({ 99: 1 })]);
  });

  it('bins only the fields a quantile asks for, and answers an empty selection with zeros', async () => {
    expect(await run([], [], K, [{ op: 'sum', field: 'amount' }])).toEqual([
      { keys: [], count: 5n, sums: new Map([['amount', 120n]]), squares: new Map(), histograms: new Map() },
    ]);
    expect((await run([], [], K, [{ op: 'quantile', field: 'amount', q: 0.5 }]))[0]!.histograms).toEqual(new Map([['amount', bins({ 0: 2, 10: 2, 99: 1 })]]));
    const nobody: Condition = { kind: 'subject-jurisdiction', operator: 'in', value: ['JP'] };
    expect(
      await run([], [nobody], K, [
        { op: 'sum', field: 'amount' },
        { op: 'quantile', field: 'amount', q: 0.5 },
      ]),
    ).toEqual([{ keys: [], count: 0n, sums: new Map([['amount', 0n]]), squares: new Map(), histograms: new Map([['amount', bins({})]]) }]);
  });

  it('keeps a random k of a subject’s rows, not the same first k every time', async () => {
    await t.db.exec(`INSERT INTO customers VALUES (5, 'SG'); INSERT INTO transactions SELECT 100 + i, 5, 'gift', i FROM generate_series(1, 10) i`);
    const sums = new Set<bigint>();
    for (let i = 0; i < 30; i++) {
      const [gift] = (await run(['category'], [], K, [{ op: 'sum', field: 'amount' }])).filter((row) => row.keys[0] === 'gift');
      expect(gift!.count).toBe(2n);
      sums.add(gift!.sums.get('amount')!);
    }
    // 45 pairs of the 10 rows: the same pair 30 times by chance has probability 45^-29.
    expect(sums.size).toBeGreaterThan(1);
  });
});
