import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb } from '../../src/sql/index.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { projectWith, withBudget } from '../support/project.ts';

describe('two broker processes sharing one PostgreSQL budget', () => {
  let t: TestDatabase;
  let brokers: TestBroker[];
  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    const root = await projectWith(withBudget({ epsilon: 10, maxEpsilonPerQuery: 1 }));
    // Each broker has its own connection pool, as two processes would.
    brokers = [await startTestBroker(t.db, { root }), await startTestBroker(createPgDb({ connectionString: t.url!, max: 8 }), { root })];
  });
  afterAll(async () => {
    await brokers[1]!.broker.db.close();
    for (const kh of brokers) await kh.close();
    await t.drop();
  });

  it('never spends more than the budget under 50 concurrent queries', async () => {
    const tokens = await Promise.all(brokers.map((kh) => kh.token('analytics-bot')));
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        brokers[i % 2]!.graphql(tokens[i % 2]!, `{ customers_aggregate(epsilon: 1, where: { segment: { ne: "c${i}" } }) { groups { count { value } } } }`),
      ),
    );
    const codes = replies.map((r) => (r.status === 200 ? 'ok' : r.body.errors![0]!.extensions?.code));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(codes.filter((c) => c === 'BUDGET_EXHAUSTED')).toHaveLength(40);
    const { rows } = await t.db.query<{ pure_epsilon: number; queries: number }>(
      "SELECT pure_epsilon, queries FROM dp_budget WHERE scope = 'agent:analytics-bot'",
    );
    expect(rows[0]!.queries).toBe(10);
    expect(Number(rows[0]!.pure_epsilon)).toBeLessThanOrEqual(10 + 1e-9);
    const audit = await t.db.query<{ decision: string; n: number }>(
      "SELECT decision, count(*)::int8 AS n FROM audit_log WHERE operation_kind = 'dp_aggregate' GROUP BY decision ORDER BY decision",
    );
    expect(audit.rows).toEqual([
      { decision: 'allowed', n: 10 },
      { decision: 'denied', n: 40 },
    ]);
  });
});
