import { describe, expect, it } from 'vitest';
import { useTwoBrokers } from '../support/world.ts';
import { projectWith, withBudget } from '../support/project.ts';

describe('two broker processes sharing one PostgreSQL budget', () => {
  const world = useTwoBrokers(() => projectWith(withBudget({ epsilon: 10, maxEpsilonPerQuery: 1 })));

  it('never spends more than the budget under 50 concurrent queries', async () => {
    const tokens = await Promise.all(world.brokers.map((kh) => kh.token('analytics-bot')));
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        world.brokers[i % 2]!.graphql(
          tokens[i % 2]!,
          `{ customers_aggregate(epsilon: 1, where: { segment: { ne: "c${i}" } }) { groups { count { value } } } }`,
        ),
      ),
    );
    const codes = replies.map((r) => (r.status === 200 ? 'ok' : r.body.errors![0]!.extensions?.code));
    expect(
      codes.filter((c) => c === 'ok'),
      codes.join(' '),
    ).toHaveLength(10);
    expect(
      codes.filter((c) => c === 'BUDGET_EXHAUSTED'),
      codes.join(' '),
    ).toHaveLength(40);
    const { rows } = await world.t.db.query<{ pure_epsilon: number; queries: number }>(
      "SELECT pure_epsilon, queries FROM dp_budget WHERE scope = 'agent:analytics-bot'",
    );
    expect(rows[0]!.queries).toBe(10);
    expect(Number(rows[0]!.pure_epsilon)).toBeLessThanOrEqual(10 + 1e-9);
    const audit = await world.t.db.query<{ decision: string; n: number }>(
      "SELECT decision, count(*)::int8 AS n FROM audit_log WHERE operation_kind = 'dp_aggregate' GROUP BY decision ORDER BY decision",
    );
    expect(audit.rows).toEqual([
      { decision: 'allowed', n: 10 },
      { decision: 'denied', n: 40 },
    ]);
  });
});
