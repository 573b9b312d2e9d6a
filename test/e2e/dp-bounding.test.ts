import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/index.ts';
import { planAggregate } from '../../src/dp/aggregate-plan.ts';
import { compileAggregate } from '../../src/dp/aggregate-sql.ts';
import { buildView, failClosedExposure } from '../../src/policy/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

describe.each(ENGINES)('contribution bounding in SQL on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
  });
  afterAll(async () => t.drop());

  async function boundedSum() {
    const config = await loadProjectConfig(PROJECT_ROOT);
    const view = buildView(config, config.registry.agents.get('analytics-bot')!, 'analytics', failClosedExposure, 'test');
    const viewTable = view.tables.get('transactions')!;
    const plan = planAggregate({
      viewTable,
      outputs: [{ op: 'sum', field: 'amount' }, { op: 'count' }],
      groupBy: [],
      publicGroups: true,
      mechanism: 'LAPLACE',
      epsilon: 1,
      delta: 0,
    });
    const compiled = compileAggregate(plan, [], (name) => config.catalog.tables.get(name)!);
    const [row] = compiled.parse((await t.db.query<Record<string, unknown>>(compiled.text, compiled.params)).rows);
    return { sumCents: row!.sums.get('amount')!, count: row!.count, k: plan.rowsPerSubject };
  }

  it('lets one customer with 10,000 transactions move the sum by at most k × the bound, choosing rows at random', async () => {
    const before = await boundedSum();
    await t.db.query(
      "INSERT INTO customers VALUES (7, 'Heavy User', 'h@example.com', '+65 8000 0000', 'S7654321D', '1980-01-01', 'M', '018956', 'Singapore', 'SG', 'retail', now())",
    );
    await t.db.query("INSERT INTO accounts VALUES (70, 7, 'current', 'SGD', '0', '2020-01-01')");
    // Amounts 1 … 4000: half above the 2000 bound (clamped), and different rows give different sums.
    await t.db.query("INSERT INTO transactions SELECT 1000 + g, 70, (1 + g % 4000)::numeric, 'travel', now(), NULL FROM generate_series(1, 10000) g");
    const sums = new Set<bigint>();
    for (let i = 0; i < 5; i++) {
      const after = await boundedSum();
      expect(after.count - before.count).toBe(BigInt(after.k));
      const moved = after.sumCents - before.sumCents;
      expect(moved).toBeGreaterThan(0n);
      expect(moved).toBeLessThanOrEqual(BigInt(after.k) * 2000n * 100n);
      sums.add(after.sumCents);
    }
    // The first k rows by id would always give the same sum; random selection does not.
    expect(sums.size).toBeGreaterThan(1);
  });
});
