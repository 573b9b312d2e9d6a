import { decideApproval } from '../../src/approvals/index.ts';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig, YamlSource } from '../../src/config/index.ts';
import { buildMaskingRules, createExposureDecider, createMaskingKeys, maskedEqualityCondition } from '../../src/masking/index.ts';
import { fieldCapabilities } from '../../src/policy/index.ts';
import { compileCondition, Params } from '../../src/sql/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

describe.each(ENGINES)('inference safety on $engine', ({ create }) => {
  const world = useWorld(create);

  const tokensByAccount = async (fraud: string) => {
    const reply = await world.kh.graphql(fraud, '{ accounts(limit: 50) { id customer_id } }');
    return new Map((reply.body.data!.accounts as Array<{ id: number; customer_id: string }>).map((a) => [a.id, a.customer_id]));
  };

  it("finds exactly one customer's rows by the pseudonym the agent was shown, computed in SQL", async () => {
    const fraud = await world.kh.token('fraud-bot');
    const tokens = await tokensByAccount(fraud);
    const eq = await world.kh.graphql(fraud, 'query($c: String) { accounts(where: { customer_id: { eq: $c } }) { id customer_id } }', { c: tokens.get(10) });
    expect(eq.status).toBe(200);
    expect(eq.body.data!.accounts).toEqual([
      { id: 10, customer_id: tokens.get(10) },
      { id: 11, customer_id: tokens.get(10) },
    ]);
    const inList = await world.kh.graphql(fraud, 'query($c: [String!]) { accounts(where: { customer_id: { in: $c } }) { id } }', {
      c: [tokens.get(20), tokens.get(60), 'cus_not-a-token'],
    });
    expect(inList.body.data!.accounts).toEqual([{ id: 20 }, { id: 60 }]);
    // A token of another scope, a raw id, a re-spelt token: nothing matches.
    for (const c of ['1', tokens.get(10)!.toUpperCase(), tokens.get(10)!.replace('cus_', 'psn_')]) {
      const none = await world.kh.graphql(fraud, 'query($c: String) { accounts(where: { customer_id: { eq: $c } }) { id } }', { c });
      expect(none.body.data!.accounts, c).toEqual([]);
    }
  });

  it('offers each masked field only the filters its masks keep sound, as introspection shows', async () => {
    const inputFields = async (agent: string, type: string) => {
      const reply = await world.kh.graphql(await world.kh.token(agent), `{ __type(name: "${type}") { inputFields { name type { name } } } }`);
      const fields = (reply.body.data!.__type as { inputFields: Array<{ name: string; type: { name: string | null } }> }).inputFields;
      return Object.fromEntries(fields.map((f) => [f.name, f.type.name]));
    };
    // support-bot's e-mail, phone and postal code are masked by functions that keep no equality: not filters at all.
    const customerWhere = await inputFields('support-bot', 'CustomerWhere');
    expect(customerWhere).not.toHaveProperty('email');
    expect(customerWhere).not.toHaveProperty('phone');
    expect(customerWhere).not.toHaveProperty('postal_code');
    expect(customerWhere).toMatchObject({ id: 'BigIntFilter', full_name: 'StringFilter', city: 'StringFilter', and: null, or: null, not: 'CustomerWhere' });
    // fraud-bot's pseudonymised customer ids take exactly the equality operators.
    expect(await inputFields('fraud-bot', 'AccountWhere')).toMatchObject({ customer_id: 'StringEqualityFilter' });
    expect(await inputFields('fraud-bot', 'StringEqualityFilter')).toEqual({ eq: 'String', in: null });

    const support = await world.kh.token('support-bot');
    for (const filter of ['{ lt: "m" }', '{ eq: "someone@example.com" }']) {
      const reply = await world.kh.graphql(support, `{ customers(where: { email: ${filter} }) { id } }`);
      expect(reply.status).toBe(400);
      expect(reply.body.errors).toHaveLength(1);
      expect(reply.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(reply.body.errors![0]!.message).toBe('Field "email" is not defined by type "CustomerWhere".');
      expect(reply.body.data ?? null).toBeNull();
    }
  });

  it('offers ranges, negations and sorting on a masked field nowhere: each is a validation error', async () => {
    const fraud = await world.kh.token('fraud-bot');
    for (const where of [
      '{ customer_id: { gt: "cus_m" } }',
      '{ customer_id: { ne: "x" } }',
      '{ customer_id: { isNull: false } }',
      '{ not: { customer_id: { lt: "cus_m" } } }',
    ]) {
      const reply = await world.kh.graphql(fraud, `{ accounts(where: ${where}) { id } }`);
      expect(reply.status, where).toBe(400);
      expect(reply.body.errors?.[0]?.extensions?.code, where).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(reply.body.errors?.[0]?.message, where).toMatch(/^Field "\w+" is not defined by type "StringEqualityFilter"\.$/);
      expect(reply.body.data ?? null).toBeNull();
    }
    // The same filter in a variable is refused before anything runs.
    const inVariable = await world.kh.graphql(fraud, 'query($w: AccountWhere) { accounts(where: $w) { id } }', { w: { customer_id: { gt: 'cus_m' } } });
    expect(inVariable.status).toBe(400);
    expect(inVariable.body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(inVariable.body.data ?? null).toBeNull();
    const sorted = await world.kh.graphql(fraud, '{ accounts(orderBy: [{ field: customer_id }]) { id } }');
    // Masked fields are not even values of the sort enum.
    expect(sorted.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(sorted.body.errors?.[0]?.message).toMatch(/"customer_id" does not exist in "AccountOrderField"/);
    expect(sorted.body.data ?? null).toBeNull();
  });

  it('lets a binary search over a masked national ID get nowhere: every probe refused and audited as denied', async () => {
    const kyc = await world.kh.token('kyc-bot');
    const denials = "SELECT count(*)::int AS n FROM audit_log WHERE decision = 'denied' AND code = 'GRAPHQL_VALIDATION_FAILED'";
    const before = await world.t.db.query<{ n: number }>(denials);
    let low = '';
    let high = '~';
    let probes = 0;
    let learned = 0;
    // A search that would pin S1234567D down in ~60 probes if any answer differed.
    for (let step = 0; step < 24; step++) {
      const middle = `${low}${String.fromCharCode(Math.floor((low.charCodeAt(low.length - 1) || 48) / 2 + (high.charCodeAt(0) || 126) / 2))}`;
      const reply = await world.kh.graphql(kyc, 'query($v: String) { customers(where: { national_id: { lt: $v } }) { id } }', { v: middle });
      probes++;
      // Its partial mask keeps no equality, so national_id is no field of CustomerWhere at all.
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(reply.body.errors?.[0]?.message).toBe('Field "national_id" is not defined by type "CustomerWhere".');
      const rows = (reply.body.data?.customers as unknown[] | undefined) ?? [];
      if (rows.length > 0) {
        learned++;
        high = middle;
      } else low = middle;
    }
    expect(learned).toBe(0);
    const after = await world.t.db.query<{ n: number }>(denials);
    expect(after.rows[0]!.n - before.rows[0]!.n).toBe(probes);
    // Reading the masked value itself needs a human approval (policies.yaml), then shows the partial mask.
    const asked = await world.kh.graphql(kyc, '{ customers { id national_id } }');
    const approval = asked.body.errors![0]!.extensions!.approvals[0];
    await decideApproval(world.t.db, approval.id, { status: 'approved', by: 'test', reason: null });
    const shown = await world.kh.graphql(kyc, '{ customers { id national_id } }');
    expect(shown.body.data!.customers).toEqual([{ id: 1, national_id: 'S*****67D' }]);
  });

  it('computes the same pseudonym and format-preserving tokens in SQL as in TypeScript', async () => {
    const config = await loadProjectConfig(PROJECT_ROOT);
    const keys = createMaskingKeys(new Uint8Array(32).fill(9), 'mk-sql');
    const rules = buildMaskingRules(
      [
        new YamlSource(
          'masking-rules/t.yaml',
          'rules:\n  - columns: [customers.full_name]\n    mask: tokenize_preserving_format\n  - columns: [customers.id]\n    mask: pseudonymize\n  - columns: [customers.email]\n    subjectJurisdictions: [SG]\n    mask: pseudonymize\n    params: { scope: mail }\n  - columns: [customers.email]\n    mask: clear\n',
        ),
      ],
      config,
      keys,
    );
    const decide = createExposureDecider(rules, keys);
    const customers = config.catalog.tables.get('customers')!;
    const scope = { role: 'support', purpose: 'customer_service', agentLocation: 'SG' };
    const fieldOf = (name: string) => {
      const column = customers.columns.get(name)!;
      const exposure = decide(customers, column, scope) as Exclude<ReturnType<typeof decide>, { kind: 'hidden' }>;
      return { column, exposure, requiresApproval: false, ...fieldCapabilities(column, exposure) };
    };
    await world.t.db.query(
      "INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at) VALUES (90, $1, 'x@y.z', '1', 'N90', '2000-01-01', 'X', '1', 'c', 'SG', 'retail', now()), (91, $2, 'a@b.c', '2', 'N91', '2000-01-01', 'X', '2', 'c', 'JP', 'retail', now())",
      ['Ana-María Zoë Ålund-Øster 42, Avenida de la Constitución, Sevilla ES-41001 (long)', 'Ōno Yū 小野 9'],
    );
    const select = async (name: string, operator: string, value: unknown) => {
      const field = fieldOf(name);
      const condition = maskedEqualityCondition(field, operator, value)!;
      const params = new Params();
      const where = compileCondition({ alias: 't0', jurisdiction: 't0.residency' }, condition, params);
      const { rows } = await world.t.db.query<{ id: number }>(`SELECT t0.id FROM customers t0 WHERE ${where} ORDER BY t0.id`, params.values);
      return rows.map((r) => Number(r.id));
    };
    const { rows } = await world.t.db.query<{ id: number; full_name: string; email: string; residency: string }>(
      'SELECT id, full_name, email, residency FROM customers ORDER BY id',
    );
    for (const row of rows) {
      const name = fieldOf('full_name').exposure;
      const id = fieldOf('id').exposure;
      const nameToken = name.kind === 'masked' ? name.otherwise!.apply(row.full_name) : undefined;
      const idToken = id.kind === 'masked' ? id.otherwise!.apply(row.id) : undefined;
      expect(await select('full_name', 'eq', nameToken), row.full_name).toEqual([Number(row.id)]);
      expect(await select('id', 'eq', idToken)).toEqual([Number(row.id)]);
      const email = fieldOf('email').exposure;
      const shown = email.kind === 'masked' ? (email.byJurisdiction.get(row.residency) ?? email.otherwise)!.apply(row.email) : undefined;
      expect(await select('email', 'eq', shown), `${row.residency} ${String(shown)}`).toEqual([Number(row.id)]);
    }
    // An SG customer's clear e-mail does not match: for SG rows only the pseudonym does.
    expect(await select('email', 'eq', 'weiling.tan@example.sg')).toEqual([]);
    expect(await select('email', 'in', ['maria.lopez@example.com', 'jonas.becker@example.de'])).toEqual([2, 3]);
  });
});
