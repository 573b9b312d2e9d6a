import { beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/index.ts';
import { ENGINES } from '../support/databases.ts';
import { startTestBroker } from '../support/broker.ts';
import { projectWith } from '../support/project.ts';
import { useWorld } from '../support/world.ts';

const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

/** support-bot's policy with request caps of its own. */
const supportCaps = (caps: string) => ({
  'schema/policies.yaml': (text: string) => text.replace('    maxRowsPerRequest: 200\n', caps),
});

describe.each(ENGINES)('caps across a whole request on $engine', ({ create }) => {
  const world = useWorld(create);
  let support: string;
  const auditRows = async () => Number((await world.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n);
  const lastRecord = async () =>
    (await world.t.db.query<{ decision: string; code: string; row_count: number }>('SELECT decision, code, row_count FROM audit_log ORDER BY seq DESC LIMIT 1'))
      .rows[0]!;

  beforeAll(async () => {
    support = await world.kh.token('support-bot');
  });

  it('refuses 15 aliases of a full page before any row is read, naming the total and the cap', async () => {
    const reply = await world.kh.graphql(support, aliases(15, 'customers(limit: 50) { id }'));
    expect(reply.status).toBe(400);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED', requested: 750, maxRowsPerRequest: 200 }) }),
    ]);
    expect(reply.body.errors![0]!.message).toMatch(/750 rows.*200 per request/);
    expect(await lastRecord()).toMatchObject({ decision: 'denied', code: 'LIMIT_EXCEEDED', row_count: 0 });
  });

  it('adds up default pages, nested lists, fragments and variables alike', async () => {
    // 10 default pages of 20 = 200: at the cap; one more nested list goes over it.
    expect((await world.kh.graphql(support, aliases(10, 'customers { id }'))).status).toBe(200);
    const nested = await world.kh.graphql(
      support,
      `{ ${Array.from({ length: 9 }, (_, i) => `a${i}: customers { id }`).join(' ')} b: customers { id accounts(limit: 21) { id } } }`,
    );
    expect(nested.body.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', requested: 221 });
    const viaFragment = await world.kh.graphql(
      support,
      `query($n: Int) { ...F a: customers(limit: $n) { id } } fragment F on Query { b: customers(limit: 50) { id accounts(limit: 50) { id } } c: accounts(limit: 50) { id customer { id } } }`,
      { n: 50 },
    );
    expect(viaFragment.body.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', requested: 201 });
    const skipped = await world.kh.graphql(
      support,
      `{ a: customers(limit: 50) { id } b: customers(limit: 50) @skip(if: true) { id } c: accounts(limit: 50) { id } d: accounts(limit: 50) { id } }`,
    );
    expect(skipped.status).toBe(200);
  });

  it('checks the rows and people actually read against the caps, nested rows included', async () => {
    const root = await projectWith(supportCaps('    maxRowsPerRequest: 4\n    maxSubjectsPerRequest: 2\n'));
    const capped = await startTestBroker(world.t.db, { root });
    try {
      const token = await capped.token('support-bot');
      // Asked for 2 + 2 = 4 rows; customer 1 has two accounts and customer 2 one: 2 + 3 = 5 rows read.
      const rows = await capped.graphql(token, '{ customers(limit: 2) { id accounts(limit: 2) { id } } }');
      expect(rows.status).toBe(400);
      expect(rows.body.errors![0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', maxRowsPerRequest: 4 });
      expect(rows.body.errors![0]!.message).toMatch(/5 rows/);
      // Three people in two aliases of two rows each (offsets differ): over the cap of two people.
      const people = await capped.graphql(token, '{ a: customers(limit: 2) { id } b: customers(limit: 2, offset: 1) { id } }');
      expect(people.body.errors![0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', maxSubjectsPerRequest: 2 });
      expect(people.body.data ?? null).toBeNull();
      // The same two people twice are still two people.
      const same = await capped.graphql(token, '{ a: customers(limit: 2) { id } b: customers(limit: 2) { id } }');
      expect(same.status).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it('counts __typename aliases against the alias limit, and refuses a flood of directives with one error', async () => {
    const before = await auditRows();
    const typenames = await world.kh.graphql(support, aliases(101, '__typename'));
    expect(typenames.status).toBe(400);
    expect(typenames.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_LIMIT_EXCEEDED' }) })]);
    const unknown = await world.kh.graphql(support, `{ viewer ${Array.from({ length: 200 }, (_, i) => `@d${i}`).join(' ')} { agent } }`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({
        message: 'Directives limit of 10 exceeded, found 200.',
        extensions: expect.objectContaining({ code: 'QUERY_LIMIT_EXCEEDED' }),
      }),
    ]);
    // Known directives count too, and a fragment's count again at every spread.
    const spread = await world.kh.graphql(
      support,
      `{ ...F ...F ...F } fragment F on Query { viewer @include(if: true) @skip(if: false) { agent } a: viewer @include(if: true) @skip(if: false) { agent } }`,
    );
    expect(spread.body.errors).toEqual([expect.objectContaining({ message: 'Directives limit of 10 exceeded, found 12.' })]);
    expect(await auditRows()).toBe(before + 3);
  });
});

describe('request caps in schema/policies.yaml', () => {
  it('default to the largest page of the policy and are validated', async () => {
    const config = await loadProjectConfig(await projectWith(supportCaps('')));
    expect(config.policies.byRolePurpose.get('support/customer_service')!.requestCaps).toEqual({ rows: 50, subjects: 50 });
    expect(config.policies.byRolePurpose.get('fraud/fraud_detection')!.requestCaps).toEqual({ rows: 200, subjects: 200 });
    await expect(loadProjectConfig(await projectWith(supportCaps('    maxRowsPerRequest: 0\n')))).rejects.toThrow(/policies\.yaml.*maxRowsPerRequest/s);
  });
});
