import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { periodResetsOn } from '../../src/dp/budget-figures.ts';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import type { ClaimValue } from '../../src/policy/index.ts';
import { projectWith, withBudget } from '../support/project.ts';
import { readyz, readyzUntil } from '../support/readiness.ts';
import { epsilonSpent, storedDpAnswers } from '../support/dp.ts';
import { useRedTeam } from './support.ts';

const ANALYTICS = '  - role: analytics\n    purposes: [analytics]\n';
const CUSTOMERS_SCOPE = 'fields: [residency, segment, gender, city]\n        maxRowsPerSubject: 1\n';

/**
 * analytics-bot under a project where it may act for a person (a delegated token narrows the customers it aggregates
 * to the person's regions), also reads account rows (so the compliance gate has subjects to judge), GDPR does not
 * count its aggregates as anonymous, and the dataset's shared budget is small.
 */
const PROJECT = {
  'schema/policies.yaml': (text: string) =>
    withBudget({ epsilon: 20, maxEpsilonPerQuery: 2 }, { epsilon: 3, delta: 1e-3 })
      ['schema/policies.yaml'](text)
      .replace(
        ANALYTICS,
        `${ANALYTICS}    delegation:\n      required: false\n      rowFilter:\n        customers: { residency: { in: { session: person.regions } } }\n`,
      )
      .replace(
        'access: aggregates\n        fields: [balance, kind, currency]\n        maxRowsPerSubject: 3\n',
        'access: rows\n        fields: [id, balance]\n        maxLimit: 10\n',
      ),
  'schema/jurisdictions/gdpr.yaml': (text: string) => text.replace('aggregates: { anonymous: true,', 'aggregates: { anonymous: false,'),
};

/**
 * A stored DP answer replays for free only for the same question over the same rows, a refused request costs and
 * stores nothing, and a refusal by the shared dataset budget tells an agent nothing of the other agents' spending.
 */
describe('red team: DP replay scope, refusals after the spend, the shared budget', () => {
  const rt = useRedTeam({ root: () => projectWith(PROJECT) });
  const AGGREGATE = '{ customers_aggregate(epsilon: 1) { groups { count { value } } replayed } }';

  beforeEach(async () => {
    await rt.t.db.exec('DELETE FROM dp_budget; DELETE FROM dp_answers;');
  });

  const spent = () => epsilonSpent(rt.t.db, 'analytics-bot');
  const stored = () => storedDpAnswers(rt.t.db);
  const ask = async (token: string, query = AGGREGATE) => rt.kh.graphql(token, query);
  const actingFor = (person: string, claims: Record<string, ClaimValue>) =>
    issueToken({
      keys: rt.kh.broker.tokenKeys,
      registry: rt.kh.broker.config.registry,
      subject: 'analytics-bot',
      ttlSeconds: parseTtl('1h'),
      onBehalfOf: { id: person, claims },
    });
  const replayed = async (token: string) => {
    const reply = await ask(token);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.body.data!.customers_aggregate.replayed as boolean;
  };

  it("does not replay one person's answer for another: the delegated row filter is part of the question", async () => {
    const tom = await actingFor('tom', { regions: ['SG'] });
    const ada = await actingFor('ada', { regions: ['EU-DE', 'EU-FR'] });
    expect(await replayed(tom)).toBe(false);
    expect(await replayed(ada)).toBe(false);
    expect(await spent()).toBe(2);
    expect(await stored()).toBe(2);
    // The same person asking again is the same question over the same rows: replayed at no cost.
    expect(await replayed(tom)).toBe(true);
    expect(await spent()).toBe(2);
  });

  it('charges and stores nothing for a DP aggregate the compliance gate refuses after the spend', async () => {
    const token = await rt.token('analytics-bot');
    // EU customers' account rows may not go to analytics-bot in US-CA (no transfer basis), and beside rows the aggregate's
    // fields are judged as rows too (test/redteam/compliance-mixed.test.ts): the whole answer is refused.
    const [refused] = await rt.contained(() => ask(token, '{ customers_aggregate(epsilon: 1) { groups { count { value } } } accounts { id balance } }'), {
      status: 403,
      code: 'COMPLIANCE_DENIED',
    });
    expect(await spent()).toBe(0);
    expect(await stored()).toBe(0);
    const record = await rt.t.db.query<{ privacy_cost: unknown }>('SELECT privacy_cost FROM audit_log WHERE request_id = $1', [refused!.requestId]);
    expect(record.rows).toEqual([{ privacy_cost: null }]);
    // Nothing was kept to replay: the aggregate alone is a fresh, charged release.
    expect(await replayed(token)).toBe(false);
    expect(await spent()).toBe(1);
  });

  it('refuses for the shared dataset budget without a figure of what the other agents spent', async () => {
    const period = new Date().toISOString().slice(0, 7);
    // Other agents have spent 2.5 of the dataset's 3 this period; analytics-bot has spent none of its own 20.
    await rt.t.db.query(
      "INSERT INTO dp_budget (scope, period, epsilon_limit, delta_limit, pure_epsilon, pure_rho, queries) VALUES ('dataset:demo-bank', $1, 3, 0.001, 2.5, 3.125, 4)",
      [period],
    );
    const token = await rt.token('analytics-bot');
    const [refused] = await rt.contained(() => ask(token), { status: 403, code: 'BUDGET_EXHAUSTED' });
    const error = refused!.body.errors![0]!;
    const resetsOn = periodResetsOn(period);
    expect(error.message).toBe(
      `This request's 1 privacy release ask ε=1 in all; the dataset privacy budget for ${period} cannot cover ε=1 (it is shared by all agents, whose spending is not shown); it resets on ${resetsOn} (UTC). Nothing was released or charged.`,
    );
    expect(error.extensions).toEqual({ code: 'BUDGET_EXHAUSTED', resetsOn });
    expect(await spent()).toBe(0);
  });

  it('does not replay an answer computed under a row filter a rules reload has since changed', async () => {
    const token = await rt.token('analytics-bot');
    expect(await replayed(token)).toBe(false);
    const before = await readyz(rt.kh);
    const file = join(rt.root!, 'schema/policies.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(CUSTOMERS_SCOPE, `${CUSTOMERS_SCOPE}        rowFilter:\n          segment: { ne: business }\n`));
    await readyzUntil(rt.kh, (r) => r.rules.version !== before.rules.version && r.rules.pending.length === 0);
    expect(await replayed(token)).toBe(false);
    expect(await spent()).toBe(2);
    expect(await stored()).toBe(2);
  });
});
