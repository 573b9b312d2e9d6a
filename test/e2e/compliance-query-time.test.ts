import { describe, expect, it } from 'vitest';
import { WITHHELD_COUNT_CAP } from '../../src/sql/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { startTestBroker } from '../support/broker.ts';
import { projectWith } from '../support/project.ts';

interface Finding {
  check: string;
  jurisdiction: string;
  outcome: string;
  rule: string;
}

describe.each(ENGINES)('compliance at query time on $engine', ({ create }) => {
  const world = useWorld(create);
  const lastRecord = async () =>
    (
      await world.t.db.query<{ decision: string; code: string | null; findings: Finding[]; details: Record<string, any>; jurisdictions: string[] }>(
        'SELECT decision, code, findings, details, jurisdictions FROM audit_log ORDER BY seq DESC LIMIT 1',
      )
    ).rows[0]!;

  it('withholds a CN customer from an agent processing outside China without a PIPL basis: the answer says so, the record counts', async () => {
    const reply = await world.kh.graphql(await world.kh.token('support-bot'), '{ customers(limit: 50) { id residency } }');
    expect(reply.status).toBe(200);
    const ids = (reply.body.data!.customers as Array<{ id: number; residency: string }>).map((c) => c.id);
    expect(ids).not.toContain(4);
    expect(reply.body.extensions?.withheld).toEqual([{ table: 'customers', jurisdictions: ['CN'] }]);
    const record = await lastRecord();
    expect(record.decision).toBe('allowed');
    expect(record.details.withheld).toEqual([{ table: 'customers', rows: 1, jurisdictions: ['CN'] }]);
    expect(record.jurisdictions).not.toContain('CN');
  });

  it('records withheld rows past the page and on an empty page alike, and tells the agent the policy only', async () => {
    const token = await world.kh.token('support-bot');
    const policy = [{ table: 'customers', jurisdictions: ['CN'] }];
    const firstOnly = await world.kh.graphql(token, '{ customers(limit: 1) { id } }');
    expect(firstOnly.body.data!.customers).toEqual([{ id: 1 }]);
    expect(firstOnly.body.extensions?.withheld).toEqual(policy);
    expect((await lastRecord()).details.withheld).toEqual([{ table: 'customers', rows: 1, jurisdictions: ['CN'] }]);
    const onlyCn = await world.kh.graphql(token, '{ customers(where: { residency: { eq: "CN" } }) { id } }');
    expect(onlyCn.body.errors, JSON.stringify(onlyCn.body.errors)).toBeUndefined();
    expect(onlyCn.body.data!.customers).toEqual([]);
    expect(onlyCn.body.extensions?.withheld).toEqual(policy);
    expect((await lastRecord()).details.withheld).toEqual([{ table: 'customers', rows: 1, jurisdictions: ['CN'] }]);
    // Whether anyone withheld matched the filter shows in the record only, never in the answer.
    const noneWithheld = await world.kh.graphql(token, '{ customers(where: { residency: { eq: "SG" } }) { id } }');
    expect(noneWithheld.body.extensions?.withheld).toEqual(policy);
    expect((await lastRecord()).details.withheld).toBeUndefined();
  });

  it(`counts withheld rows up to ${WITHHELD_COUNT_CAP}, and past that records "at least"`, async () => {
    const token = await world.kh.token('support-bot');
    const addCnCustomers = (from: number, to: number) =>
      world.t.db.exec(
        `INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at)
         SELECT n, 'Withheld ' || n, 'w' || n || '@example.cn', '+86 139 0000 0000', '310101198001011234', '1980-01-01', 'M', '200001', 'Shanghai', 'CN', 'retail', '2024-02-02T08:00:00Z'
         FROM generate_series(${from}, ${to}) AS n`,
      );
    try {
      // With the one CN customer of the fixture: one short of the cap, then the cap, then past it.
      await addCnCustomers(90_001, 90_000 + WITHHELD_COUNT_CAP - 2);
      await world.kh.graphql(token, '{ customers(limit: 1) { id } }');
      expect((await lastRecord()).details.withheld).toEqual([{ table: 'customers', rows: WITHHELD_COUNT_CAP - 1, jurisdictions: ['CN'] }]);
      await addCnCustomers(90_000 + WITHHELD_COUNT_CAP - 1, 90_000 + WITHHELD_COUNT_CAP - 1);
      await world.kh.graphql(token, '{ customers(limit: 1) { id } }');
      expect((await lastRecord()).details.withheld).toEqual([{ table: 'customers', rows: WITHHELD_COUNT_CAP, atLeast: true, jurisdictions: ['CN'] }]);
      await addCnCustomers(90_000 + WITHHELD_COUNT_CAP, 90_000 + WITHHELD_COUNT_CAP + 50);
      // An empty page counts in a statement of its own: capped alike.
      await world.kh.graphql(token, '{ customers(where: { residency: { eq: "CN" } }) { id } }');
      expect((await lastRecord()).details.withheld).toEqual([{ table: 'customers', rows: WITHHELD_COUNT_CAP, atLeast: true, jurisdictions: ['CN'] }]);
    } finally {
      await world.t.db.exec('DELETE FROM customers WHERE id > 90000');
    }
  });

  it('lets fraud-bot see CN transactions under a CAC standard contract, flagged with PIPL Art. 38', async () => {
    const reply = await world.kh.graphql(await world.kh.token('fraud-bot'), '{ transactions(limit: 50) { id amount } }');
    expect((reply.body.data!.transactions as Array<{ id: number }>).map((row) => row.id)).toContain(104);
    expect(reply.body.extensions?.withheld).toBeUndefined();
    const cn = (await lastRecord()).findings.find((f) => f.check === 'cross_border_transfer' && f.jurisdiction === 'CN');
    expect(cn).toMatchObject({ outcome: 'flag' });
    expect(cn!.rule).toMatch(/PIPL Art\. 38/);
  });

  it('withholds CN rows found through the subject path (transactions of a CN account) when that basis is gone', async () => {
    const root = await projectWith({ 'schema/agents.yaml': (text) => text.replace('      CN: [cac_standard_contract]\n', '') });
    const strict = await startTestBroker(world.t.db, { root });
    try {
      const reply = await strict.graphql(await strict.token('fraud-bot'), '{ transactions(limit: 50) { id account { id } } }');
      const ids = (reply.body.data!.transactions as Array<{ id: number }>).map((row) => row.id);
      expect(ids).toEqual([100, 101, 102, 103]);
      expect(reply.body.extensions?.withheld).toEqual([
        { table: 'transactions', jurisdictions: ['CN'] },
        { table: 'accounts', jurisdictions: ['CN'] },
      ]);
      expect((await lastRecord()).details.withheld).toEqual([{ table: 'transactions', rows: 1, jurisdictions: ['CN'] }]);
    } finally {
      await strict.close();
    }
  });

  it('allows an EU transfer under standard contractual clauses, flagged and cited in the record', async () => {
    const reply = await world.kh.graphql(await world.kh.token('support-bot'), '{ customers(where: { residency: { eq: "EU-DE" } }) { id } }');
    expect(reply.body.data!.customers).toEqual([{ id: 2 }]);
    const record = await lastRecord();
    const transfer = record.findings.find((f) => f.check === 'cross_border_transfer' && f.jurisdiction === 'EU-DE');
    expect(transfer).toMatchObject({ outcome: 'flag' });
    expect(transfer!.rule).toMatch(/GDPR Art\. 46/);
  });

  it('denies every answer of a view that can return EU subjects with no transfer basis, whoever the filter matches', async () => {
    const root = await projectWith({
      'schema/agents.yaml': (text) =>
        text.replace('      EU-FR: [standard_contractual_clauses]\n      AU: [contractual_safeguards]', '      AU: [contractual_safeguards]'),
    });
    const strict = await startTestBroker(world.t.db, { root });
    try {
      const token = await strict.token('support-bot');
      const denied = await strict.graphql(token, '{ customers(limit: 50) { id residency } }');
      expect(denied.status).toBe(403);
      expect(denied.body.data ?? null).toBeNull();
      expect(denied.body.errors![0]!.extensions?.code).toBe('TRANSFER_DENIED');
      expect(denied.body.errors![0]!.message).toMatch(/GDPR Art\. 44/);
      const record = await lastRecord();
      expect(record).toMatchObject({ decision: 'denied', code: 'TRANSFER_DENIED' });
      expect(record.findings.some((f) => f.outcome === 'deny' && f.jurisdiction === 'EU-FR')).toBe(true);
      // Decided on the jurisdictions the view can return, not on the people the filter matched: otherwise a
      // predicate matching an EU-FR customer (denied) and one matching nobody (answered) would tell them apart.
      const probes = ['{ customers(where: { residency: { eq: "SG" } }) { id } }', ...(await probesOfEuFrCustomer())];
      for (const probe of probes) {
        const reply = await strict.graphql(token, probe);
        expect([reply.status, reply.body.errors?.[0]?.extensions?.code]).toEqual([403, 'TRANSFER_DENIED']);
        expect({ ...reply.body, errors: reply.body.errors!.map(({ message, extensions }) => ({ message, code: extensions!.code })) }).toEqual({
          ...denied.body,
          errors: denied.body.errors!.map(({ message, extensions }) => ({ message, code: extensions!.code })),
        });
      }
    } finally {
      await strict.close();
    }
  });

  async function probesOfEuFrCustomer(): Promise<string[]> {
    const { rows } = await world.t.db.query<{ full_name: string }>("SELECT full_name FROM customers WHERE residency = 'EU-FR' LIMIT 1");
    const name = JSON.stringify(rows[0]!.full_name);
    return [`{ customers(where: { full_name: { eq: ${name} } }) { id } }`, '{ customers(where: { full_name: { eq: "Nobody At All" } }) { id } }'];
  }

  it('counts each subject once per year against PIPL volume thresholds, however often they are read', async () => {
    // Sensitive PI (amounts are financial data under PIPL) of 2 people needs a CAC security assessment here:
    // reading the same single CN subject twice must not reach it.
    const root = await projectWith({
      'schema/jurisdictions/pipl-cn.yaml': (text) => text.replace('    atLeast: 10000\n', '    atLeast: 2\n'),
    });
    // The same keys as the first broker (as replicas share them): subjects read earlier count as the same people.
    const strict = await startTestBroker(world.t.db, { root, dataDir: world.kh.dataDir });
    try {
      const token = await strict.token('fraud-bot');
      const query = '{ transactions(where: { id: { eq: 104 } }) { id amount } }';
      for (let i = 0; i < 2; i++) expect((await strict.graphql(token, query)).status).toBe(200);
      const volume = (await lastRecord()).findings.filter((f) => f.check === 'transfer_volume') as Array<Finding & { message: string }>;
      expect(volume.some((f) => f.outcome === 'deny')).toBe(false);
      expect(volume.map((f) => f.message).join()).toContain(' 1 CN subjects');
      // A second CN subject reaches the threshold: the standard contract no longer suffices.
      await world.t.db.query(
        "INSERT INTO customers VALUES (8, 'Wang Fang', 'w@example.cn', '+86 139 0000 0000', '110105199001011234', '1990-01-01', 'F', '100020', 'Beijing', 'CN', 'retail', now())",
      );
      await world.t.db.query("INSERT INTO accounts VALUES (80, 8, 'current', 'CNY', '0', '2020-01-01')");
      await world.t.db.query("INSERT INTO transactions VALUES (180, 80, '9.00', 'fuel', now(), NULL)");
      const denied = await strict.graphql(token, '{ transactions(where: { id: { in: [104, 180] } }) { id amount } }');
      expect(denied.body.errors![0]!.extensions?.code).toBe('TRANSFER_DENIED');
      expect((await lastRecord()).findings.some((f) => f.check === 'transfer_volume' && f.outcome === 'deny')).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it("answers DP aggregates without transfer checks: they carry no one's record", async () => {
    const reply = await world.kh.graphql(
      await world.kh.token('analytics-bot'),
      '{ customers_aggregate(epsilon: 0.1, groupBy: [residency]) { groups { key { residency } count { value } } } }',
    );
    expect(reply.status).toBe(200);
    expect((reply.body.data!.customers_aggregate.groups as unknown[]).length).toBe(8);
    expect((await lastRecord()).findings.filter((f) => f.check === 'cross_border_transfer')).toEqual([]);
  });
});
