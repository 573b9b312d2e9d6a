import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

const INTROSPECT_ALL = `{ __schema { types { name fields { name args { name } } inputFields { name } enumValues { name } } } }`;

describe.each(ENGINES)('per-agent views on $engine', ({ create }) => {
  const world = useWorld(create);
  let support: string;
  beforeAll(async () => {
    support = await world.kh.token('support-bot');
  });

  it('leaves hidden tables and fields out of introspection entirely', async () => {
    const reply = await world.kh.graphql(support, INTROSPECT_ALL);
    expect(reply.status).toBe(200);
    const text = JSON.stringify(reply.body.data);
    for (const hidden of [
      'national_id',
      'birth_date',
      'balance',
      'diagnosis_code',
      'salary',
      'HealthClaim',
      'Transaction',
      'Employee',
      'health_claims',
      'note',
    ]) {
      expect(text, `"${hidden}" must not appear in support-bot's schema`).not.toContain(hidden);
    }
    expect(text).toContain('Customer');
  });

  it('refuses a hidden field with a validation error that suggests nothing', async () => {
    for (const query of [
      '{ customers { id national_id } }',
      '{ customers { id nationalid } }',
      '{ customers { accounts { balance } } }',
      '{ health_claims { id } }',
    ]) {
      const reply = await world.kh.graphql(support, query);
      expect(reply.status).toBe(400);
      const error = reply.body.errors![0]!;
      expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(error.message).not.toMatch(/did you mean/i);
      expect(reply.body.data ?? null).toBeNull();
    }
  });

  it('refuses a hidden field passed through variables with INVALID_ARGUMENT and no hint', async () => {
    const reply = await world.kh.graphql(support, 'query ($w: CustomerWhere) { customers(where: $w) { id } }', { w: { nationalid: { eq: 'S1234567D' } } });
    expect(reply.status).toBe(400);
    expect(reply.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(reply.body.errors![0]!.message).not.toMatch(/did you mean|national_id/i);
  });

  it('takes which root fields write state from the extensions that add them: DP and HE aggregates, not rows', async () => {
    // A request compiles its agent's view; the declarations come with it.
    await world.kh.graphql(await world.kh.token('analytics-bot'), '{ viewer { agent } }');
    await world.kh.graphql(await world.kh.token('fraud-bot', 'payroll_analytics'), '{ viewer { agent } }');
    await world.kh.graphql(support, '{ viewer { agent } }');
    const views = world.kh.broker.views;
    for (const field of ['customers_aggregate', 'transactions_aggregate', 'accounts_aggregate', 'employees_encrypted']) {
      expect(views.writesState(field), field).toBe(true);
    }
    for (const field of ['customers', 'accounts', 'viewer']) expect(views.writesState(field), field).toBe(false);
  });

  it('gives no type names through inline-fragment hints either', async () => {
    const reply = await world.kh.graphql(support, '{ customers { ... on Account { id } } }');
    expect(reply.body.errors![0]!.message).not.toMatch(/did you mean/i);
  });

  it('pushes the row filter into SQL: customers outside the desk never come back, nested or not', async () => {
    const reply = await world.kh.graphql(support, '{ customers(limit: 50) { id residency } accounts(limit: 50) { id customer { id } } }');
    expect(reply.status).toBe(200);
    const customers = reply.body.data!.customers as Array<{ id: number; residency: string }>;
    // 3 (US-CA) is outside the desk; 4 (CN) is withheld by compliance (no PIPL basis: compliance tests).
    expect(customers.map((c) => c.id)).toEqual([1, 2, 5, 6]);
    const accounts = reply.body.data!.accounts as Array<{ id: number; customer: { id: number } }>;
    expect(accounts.map((a) => a.id)).not.toContain(30);
    expect(accounts.every((a) => a.customer !== null)).toBe(true);
    const filtered = await world.kh.graphql(support, '{ customers(where: { residency: { eq: "US-CA" } }) { id } }');
    expect(filtered.body.data!.customers).toEqual([]);
  });

  it('follows relations only where both ends are in the view', async () => {
    const reply = await world.kh.graphql(support, '{ customers(limit: 2) { id accounts { id kind } } }');
    expect(reply.body.data!.customers).toEqual([
      {
        id: 1,
        accounts: [
          { id: 10, kind: 'current' },
          { id: 11, kind: 'savings' },
        ],
      },
      { id: 2, accounts: [{ id: 20, kind: 'current' }] },
    ]);
    const hidden = await world.kh.graphql(support, '{ accounts { transactions { id } } }');
    expect(hidden.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('bounds pages by the policy and refuses larger ones with LIMIT_EXCEEDED', async () => {
    const reply = await world.kh.graphql(support, '{ customers(limit: 51) { id } }');
    expect(reply.body.errors![0]!.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(reply.body.data ?? null).toBeNull();
    const paged = await world.kh.graphql(support, '{ customers(limit: 2, offset: 2, orderBy: [{ field: id, direction: DESC }]) { id } }');
    expect(paged.body.data!.customers).toEqual([{ id: 2 }, { id: 1 }]);
  });

  it('gives analytics-bot no row access at all', async () => {
    const analytics = await world.kh.token('analytics-bot');
    const reply = await world.kh.graphql(analytics, '{ __schema { queryType { fields { name } } } }');
    const fields = (reply.body.data!.__schema.queryType.fields as Array<{ name: string }>).map((f) => f.name);
    expect(fields).not.toContain('customers');
    expect(fields).not.toContain('transactions');
    const rows = await world.kh.graphql(analytics, '{ customers { residency } }');
    expect(rows.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('shows fraud-bot transactions, notes as data, and nothing of customers', async () => {
    const fraud = await world.kh.token('fraud-bot');
    const reply = await world.kh.graphql(fraud, '{ transactions(limit: 5) { id amount merchant_category note account { id kind } } }');
    expect(reply.status).toBe(200);
    const rows = reply.body.data!.transactions as Array<Record<string, unknown>>;
    expect(rows[0]).toEqual({ id: 100, amount: '12.30', merchant_category: 'groceries', note: 'weekly shop', account: { id: 10, kind: 'current' } });
    const introspection = JSON.stringify((await world.kh.graphql(fraud, INTROSPECT_ALL)).body.data);
    expect(introspection).not.toContain('Customer');
  });

  it('refuses GET and form posts (CSRF) before any GraphQL work', async () => {
    const get = await world.kh.broker.fetch(
      new Request('http://keyhole.test/graphql?query={viewer{agent}}', { headers: { authorization: `Bearer ${support}` } }),
    );
    expect(get.status).toBe(405);
    const form = await world.kh.broker.fetch(
      new Request('http://keyhole.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${support}` },
        body: 'query={viewer{agent}}',
      }),
    );
    expect(form.status).toBe(415);
  });

  it('limits query depth and aliases', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: viewer { agent }`).join(' ');
    const reply = await world.kh.graphql(support, `{ ${aliases} }`);
    expect(reply.status).toBe(400);
    expect(reply.body.errors![0]!.extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
    const deep = await world.kh.graphql(support, '{ customers { accounts { customer { accounts { customer { accounts { customer { id } } } } } } } }');
    expect(deep.status).toBe(400);
    expect(deep.body.errors![0]!.extensions?.code).toBe('QUERY_LIMIT_EXCEEDED');
  });
});
