import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type GraphQLReply, startTestBroker, type TestBroker } from '../support/broker.ts';
import { epsilonSpent } from '../support/dp.ts';
import { projectWith } from '../support/project.ts';
import { type Bystander, recordingDb, useRedTeam } from './support.ts';

/**
 * People the agent may not see: 7, 8 and 10 are CN customers (withheld from support-bot, which has no PIPL transfer
 * basis), 9 an SG business customer (kyc-bot's row filter drops business customers, on a field it cannot see).
 * Customer 3 (US-CA) is outside support-bot's desk.
 */
const SEED = `
  INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at) VALUES
    (7, 'Sun Jianguo', 'sun.jg@example.cn', '+86 139 1111 2222', '310101198001011234', '1980-01-01', 'M', '200001', 'Shanghai', 'CN', 'retail', '2024-02-02T08:00:00Z'),
    (8, 'Zhao Min', 'zhao.min@example.cn', '+86 137 3333 4444', '440101199202022345', '1992-02-02', 'F', '510000', 'Guangzhou', 'CN', 'premier', '2024-03-03T09:30:00Z'),
    (9, 'Ong Boon Hock', 'ong.bh@example.sg', '+65 9000 1111', 'S7654321A', '1970-07-07', 'M', '049315', 'Singapore', 'SG', 'business', '2024-04-04T10:00:00Z'),
    (10, 'Wang Fang', 'wang.fang@example.cn', '+86 136 5555 6666', '110101199003033456', '1990-03-03', 'F', '100010', 'Beijing', 'CN', 'retail', '2024-05-05T11:00:00Z');
  INSERT INTO accounts (id, customer_id, kind, currency, balance, opened_on) VALUES (70, 7, 'savings', 'CNY', '10.00', '2021-01-01');
`;

/** Inference: learning what an agent may not see from what it may ask — filters, sorting, paging, repetition. */
describe('red team: inference through filters, sorting and paging', () => {
  const rt = useRedTeam({ seed: (db) => db.exec(SEED) });
  const bystanderFor = (agent: string): Bystander => (agent === 'fraud-bot' ? 'support-bot' : 'fraud-bot');

  describe('masked fields', () => {
    /** Every masked field of every row table of every view: the fields whose clear values the agent must not learn. */
    const maskedFields = () =>
      [...rt.kh.broker.config.registry.agents.values()].flatMap((agent) =>
        agent.purposes.flatMap((purpose) =>
          [...rt.view(agent.id, purpose).tables.values()]
            .filter((viewTable) => viewTable.policy.access === 'rows')
            .flatMap((viewTable) =>
              [...viewTable.fields.values()]
                .filter((field) => field.exposure.kind === 'masked')
                .map((field) => ({ agent: agent.id, purpose, table: viewTable.table, field: field.column.name, equality: field.filter === 'equality' })),
            ),
        ),
      );

    it('refuses every range, negation and sort on a masked field, inline or in variables, nested or not', async () => {
      const masked = maskedFields();
      // support-bot's contact data, kyc-bot's national ID and birth date, fraud-bot's pseudonyms, notes, diagnoses.
      expect(masked.length).toBeGreaterThanOrEqual(9);
      for (const { agent, purpose, table, field, equality } of masked) {
        const token = await rt.token(agent, purpose);
        const ask = (query: string, variables?: Record<string, unknown>) => () => rt.kh.graphql(token, query, variables);
        const root = table.name;
        const pk = table.primaryKey;
        // A pseudonym keeps equality on the token it shows; nothing keeps a range.
        const filter = equality ? '{ lt: "m" }' : '{ eq: "m" }';
        const where = `{ ${field}: ${filter} }`;
        const validation = { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' };
        const invalid = { status: 400, code: 'INVALID_ARGUMENT' };
        const options = { bystander: bystanderFor(agent) };
        for (const [attack, refused] of [
          [ask(`{ ${root}(where: ${where}) { ${pk} } }`), validation],
          [ask(`{ ${root}(where: { not: { or: [{ ${pk}: { isNull: true } }, ${where}] } }) { ${pk} } }`), validation],
          [ask(`{ ${root}(orderBy: [{ field: ${field}, direction: DESC }], limit: 1) { ${pk} } }`), validation],
          [ask(`query($w: ${table.graphqlType}Where) { ${root}(where: $w) { ${pk} } }`, { w: { [field]: equality ? { lt: 'm' } : { eq: 'm' } } }), invalid],
          [ask(`query($o: [${table.graphqlType}OrderBy!]) { ${root}(orderBy: $o) { ${pk} } }`, { o: [{ field }] }), invalid],
        ] as const) {
          await rt.contained(attack, refused, options);
        }
      }
    });

    it("matches nobody when guessing a pseudonymised field's clear values, exactly as a nonsense value", async () => {
      const token = await rt.token('fraud-bot');
      const ask = (ids: string[]) => rt.kh.graphql(token, 'query($c: [String!]) { accounts(where: { customer_id: { in: $c } }) { id } }', { c: ids });
      const nonsense = await ask(['zz-nobody']);
      expect(nonsense.body.data).toEqual({ accounts: [] });
      const guesses = ['1', '2', '3', '4', '5', '6', '7', 'cus_1', 'Tan Wei Ling', 'weiling.tan@example.sg'];
      expect((await ask(guesses)).body).toEqual(nonsense.body);
      // The token it was shown does match: the filter works, the guesses are what fail.
      const shown = await rt.kh.graphql(token, '{ accounts(where: { id: { eq: 10 } }) { customer_id } }');
      const mine = await ask([shown.body.data!.accounts[0].customer_id]);
      expect(mine.body.data!.accounts).toEqual([{ id: 10 }, { id: 11 }]);
    });

    it('asks a human before showing a field that needs approval, and records the request as pending', async () => {
      const token = await rt.token('kyc-bot');
      const [reply] = await rt.contained(() => rt.kh.graphql(token, '{ customers(limit: 1) { id national_id } }'), {
        status: 403,
        code: 'APPROVAL_REQUIRED',
        decision: 'pending_approval',
      });
      expect(reply!.body.errors![0]!.extensions!.approvals).toEqual([expect.objectContaining({ field: 'national_id' })]);
    });
  });

  describe('people the agent may not see', () => {
    /**
     * Asks `query` about a hidden person's value and about a value nobody has: the answers (status, data, errors,
     * extensions) and the SQL the broker ran must be the same. Returns the rows the officers' record says were withheld.
     */
    async function expectIndistinguishable(agent: string, query: (value: string) => string, person: string, nobody = 'zz-nobody', kh: TestBroker = rt.kh) {
      const token = await kh.token(agent);
      const probe = async (value: string) => {
        rt.sql.clear();
        const reply = await kh.graphql(token, query(value));
        // The rate limiter takes a batch of requests from the database every few requests: it counts the agent's own
        // requests, whatever they match, so it is left out of the comparison.
        return { reply, sql: rt.sql.statements.filter((text) => !text.includes('rate_limit_take')) };
      };
      const matching = await probe(person);
      const unmatched = await probe(nobody);
      const answer = (r: GraphQLReply) => ({ status: r.status, body: r.body });
      expect(answer(matching.reply), `${agent}: ${query(person)}`).toEqual(answer(unmatched.reply));
      // Same statements, same order: the work does not branch on whether a hidden row matched (the timing class).
      expect(matching.sql, `${agent}: statements of ${query(person)}`).toEqual(unmatched.sql);
      expect(matching.sql.length).toBeGreaterThan(0);
      const [record] = await rt.audit(matching.reply.requestId!);
      expect(record!.decision).toBe(matching.reply.status === 200 ? 'allowed' : 'denied');
      return ((record!.details.withheld as Array<{ rows: number }> | undefined) ?? []).reduce((n, w) => n + w.rows, 0);
    }

    it('answers a predicate matching a withheld CN customer exactly as one matching nobody', async () => {
      let withheld = 0;
      for (const [field, value] of [
        ['full_name', 'Sun Jianguo'],
        ['city', 'Shanghai'],
        ['residency', 'CN'],
        ['created_at', '2024-02-02T08:00:00Z'],
      ]) {
        const nobody = field === 'created_at' ? '1901-01-01T00:00:00Z' : 'zz-nobody';
        withheld += await expectIndistinguishable('support-bot', (v) => `{ customers(where: { ${field}: { eq: "${v}" } }) { id full_name } }`, value!, nobody);
      }
      withheld += await expectIndistinguishable('support-bot', (v) => `{ customers(where: { id: { in: [${v}] } }) { id accounts { id } } }`, '7', '999999');
      withheld += await expectIndistinguishable('support-bot', (v) => `{ accounts(where: { id: { eq: ${v} } }) { id customer { id } } }`, '70', '999999');
      // The predicates did reach the withheld people: only the officers' record says so.
      expect(withheld).toBeGreaterThanOrEqual(5);
    });

    it('answers a predicate matching someone outside the desk (US-CA) or outside a row filter on a hidden field exactly as nobody', async () => {
      await expectIndistinguishable('support-bot', (v) => `{ customers(where: { full_name: { eq: "${v}" } }) { id } }`, 'Maria Lopez');
      await expectIndistinguishable('support-bot', (v) => `{ accounts(where: { customer_id: { eq: ${v} } }) { id } }`, '3', '999999');
      // kyc-bot cannot see `segment`, and its row filter drops business customers: 9 is one.
      await expectIndistinguishable('kyc-bot', (v) => `{ customers(where: { full_name: { eq: "${v}" } }) { id } }`, 'Ong Boon Hock');
      await expectIndistinguishable('kyc-bot', (v) => `{ customers(where: { id: { eq: ${v} } }) { id residency } }`, '9', '999999');
    });

    it('counts only visible rows and people against the caps: a predicate matching many withheld people is no oracle', async () => {
      // support-bot allowed 4 rows and 3 people per request: the CN customers (4, 7, 8, 10) and their accounts are more.
      const root = await projectWith({
        'schema/policies.yaml': (text) => text.replace('    maxRowsPerRequest: 200\n', '    maxRowsPerRequest: 4\n    maxSubjectsPerRequest: 3\n'),
      });
      const capped = await startTestBroker(recordingDb(rt.t.db, rt.sql.statements), { root, dataDir: rt.kh.dataDir });
      try {
        let withheld = 0;
        const nested = (v: string) => `{ customers(where: { residency: { in: ["${v}"] } }, limit: 3) { id accounts(limit: 1) { id } } }`;
        withheld += await expectIndistinguishable('support-bot', nested, 'CN', 'ZZ', capped);
        withheld += await expectIndistinguishable(
          'support-bot',
          (v) => `{ customers(where: { residency: { eq: "${v}" } }, limit: 4) { id } }`,
          'CN',
          'ZZ',
          capped,
        );
        withheld += await expectIndistinguishable(
          'support-bot',
          (v) => `{ accounts(where: { currency: { eq: "${v}" } }, limit: 4) { id } }`,
          'CNY',
          'ZZZ',
          capped,
        );
        expect(withheld).toBeGreaterThanOrEqual(9);
      } finally {
        await capped.close();
        await rm(root, { recursive: true, force: true });
      }
    });

    it('pages through exactly the visible people: a withheld one never shifts, pads or shortens a page', async () => {
      const token = await rt.token('support-bot');
      const page = (limit: number, offset: number) =>
        rt.kh.graphql(token, `{ customers(orderBy: [{ field: created_at }, { field: id }], limit: ${limit}, offset: ${offset}) { id } }`);
      const all = await page(50, 0);
      const ids = (all.body.data!.customers as Array<{ id: number }>).map((c) => c.id);
      expect(ids).not.toContain(7);
      expect(ids).not.toContain(8);
      const walked: number[] = [];
      for (let offset = 0; offset <= ids.length; offset++) {
        const one = await page(1, offset);
        expect(one.body.extensions, `offset ${offset}`).toEqual(all.body.extensions);
        walked.push(...(one.body.data!.customers as Array<{ id: number }>).map((c) => c.id));
      }
      expect(walked).toEqual(ids);
      const pairs = await page(2, ids.length - 1);
      expect(pairs.body.data!.customers).toEqual([{ id: ids.at(-1) }]);
    });
  });

  describe('repetition against differential privacy', () => {
    it('replays an identical question at no cost, so averaging it learns nothing new, and refuses once variations spend the budget', async () => {
      const token = await rt.token('analytics-bot');
      const spent = () => epsilonSpent(rt.t.db, 'analytics-bot');
      const ask = (variant: string) =>
        rt.kh.graphql(
          token,
          `{ customers_aggregate(epsilon: 2, where: { city: { eq: "Shanghai" }, segment: { ne: "${variant}" } }) { groups { count { value } } } }`,
        );
      const first = await ask('v0');
      expect(first.status).toBe(200);
      const afterFirst = await spent();
      for (let i = 0; i < 3; i++) expect((await ask('v0')).body).toEqual(first.body);
      expect(await spent()).toBe(afterFirst);
      // Each variation is a new release: the agent's 20 ε buy ten of them at 2, the first included.
      for (let i = 1; i < 10; i++) expect((await ask(`v${i}`)).status, `variation ${i}`).toBe(200);
      await rt.contained(() => ask('v10'), { status: 403, code: 'BUDGET_EXHAUSTED' }, { copies: 3 });
      expect(await spent()).toBeLessThanOrEqual(20 + 1e-9);
    });
  });
});
