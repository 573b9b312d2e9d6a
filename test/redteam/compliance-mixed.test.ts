import { describe, expect, it } from 'vitest';
import { projectWith, withBudget } from '../support/project.ts';
import { epsilonSpent } from '../support/dp.ts';
import { useRedTeam } from './support.ts';

/** analytics-bot may also read account rows, under the shipped jurisdictions (most deem aggregates anonymous). */
const PROJECT = {
  'schema/policies.yaml': (text: string) =>
    withBudget({ epsilon: 20, maxEpsilonPerQuery: 2 })
      ['schema/policies.yaml'](text)
      .replace(
        'access: aggregates\n        fields: [balance, kind, currency]\n        maxRowsPerSubject: 3\n',
        'access: rows\n        fields: [id, balance]\n        maxLimit: 10\n',
      ),
};

/**
 * An aggregate asked beside a read of rows must not carry the rows past the rules for rows: judged as one aggregate,
 * a jurisdiction that deems aggregates anonymous would let the rows through with it.
 */
describe('red team: rows read beside an aggregate are judged as rows', () => {
  const rt = useRedTeam({ root: () => projectWith(PROJECT) });
  const ROWS = 'accounts(limit: 5) { id balance }';
  const AGGREGATE = 'customers_aggregate(epsilon: 1) { groups { count { value } } }';

  it('refuses the rows with an aggregate beside them as it refuses them alone, charging nothing', async () => {
    const token = await rt.token('analytics-bot');
    const alone = await rt.kh.graphql(token, `{ ${ROWS} }`);
    expect(alone.status, JSON.stringify(alone.body)).toBe(403);
    expect(alone.body.errors?.[0]?.extensions?.code).toBe('TRANSFER_DENIED');
    const mixed = await rt.kh.graphql(token, `{ ${ROWS} ${AGGREGATE} }`);
    expect(mixed.status, JSON.stringify(mixed.body)).toBe(403);
    // Judged as rows, with the aggregate's fields among them: refused by the rules for rows, whichever fires first.
    expect(['TRANSFER_DENIED', 'COMPLIANCE_DENIED']).toContain(mixed.body.errors?.[0]?.extensions?.code);
    expect(mixed.body.data ?? null).toBeNull();
    expect(await epsilonSpent(rt.t.db, 'analytics-bot')).toBe(0);
    // The aggregate alone is still answered: the rule for aggregates is unchanged.
    expect((await rt.kh.graphql(token, `{ ${AGGREGATE} }`)).status).toBe(200);
  });
});
