import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import { makeDiscreteLaplace } from '../../src/dp/index.ts';
import { clearPublicMaterialCache, decryptResult, encryptColumn, generateKeys, writeKeyDirectory } from '../../src/he/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

const QUERY = `query ($aggregate: EmployeeEncryptedAggregate!, $noise: EncryptedNoise) {
  employees_encrypted(key: "payroll", aggregate: $aggregate, where: { department: { eq: "risk" } }, noise: $noise) { rowCount result epsilonSpent }
}`;

let keyDir: string;
beforeAll(async () => {
  keyDir = join(await mkdtemp(join(tmpdir(), 'keyhole-he-noise-')), 'keys');
  await writeKeyDirectory(keyDir, await generateKeys('bfv'));
});
afterAll(async () => {
  clearPublicMaterialCache();
  await rm(join(keyDir, '..'), { recursive: true, force: true });
});

describe.each(ENGINES)('DP noise under encryption on $engine', ({ create }) => {
  const world = useWorld(create);
  let fraud: string;
  beforeAll(async () => {
    await world.t.db.exec(`INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
      SELECT 5000 + g, 'E' || g, 'e' || g || '@bank.example', (ARRAY['risk','technology','operations'])[1 + g % 3], 'SG', 20000 + (g * 7919) % 200000
        FROM generate_series(1, 3000) g`);
    await registerKeyDirectory(world.t.db, keyDir, 'payroll');
    await encryptColumn({ db: world.t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'payroll', bounds: [0, 1_000_000] });
    fraud = await world.kh.token('fraud-bot', 'payroll_analytics');
  });

  it('adds encrypted Laplace noise to the total and the count, charging ε to the budgets with the record', async () => {
    const exact = (
      await world.t.db.query<{ total: string; n: number }>("SELECT sum(salary)::text AS total, count(*)::int AS n FROM employees WHERE department = 'risk'")
    ).rows[0]!;
    const reply = await world.kh.graphql(fraud, QUERY, { aggregate: { op: 'SUM', column: 'salary' }, noise: { epsilon: 1 } });
    expect(reply.status).toBe(200);
    const answer = reply.body.data!.employees_encrypted;
    expect(answer.epsilonSpent).toBe(1);
    const opened = await decryptResult(keyDir, answer.result);
    const error = Number(BigInt(String(opened.value)) - BigInt(exact.total));
    // Total: ε/2 with sensitivity = the salary bound (1,000,000); count: ε/2 with sensitivity 1.
    const sumScale = Number(makeDiscreteLaplace({ sensitivity: 1_000_000, epsilon: 0.5 }).noise.scale);
    expect(error).not.toBe(0);
    expect(Math.abs(error)).toBeLessThan(40 * sumScale);
    expect(Math.abs(answer.rowCount - exact.n)).toBeLessThan(80);
    const spent = await world.t.db.query<{ pure_epsilon: number }>("SELECT pure_epsilon FROM dp_budget WHERE scope = 'agent:fraud-bot'");
    expect(Number(spent.rows[0]!.pure_epsilon)).toBe(1);
    const { rows } = await world.t.db.query<{ operation_kind: string; privacy_cost: Record<string, unknown> }>(
      'SELECT operation_kind, privacy_cost FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    expect(rows[0]).toMatchObject({ operation_kind: 'encrypted_aggregate', privacy_cost: { epsilon: 1, mechanism: 'laplace-under-encryption' } });
  });

  it('refuses noise the budget cannot cover, and noise on a MEAN', async () => {
    const mean = await world.kh.graphql(fraud, QUERY, { aggregate: { op: 'MEAN', column: 'salary' }, noise: { epsilon: 0.5 } });
    expect(mean.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
    // fraud-bot's budget is ε 5 a month: 1 was spent above; four more fit, the fifth does not.
    for (let i = 0; i < 4; i++)
      expect((await world.kh.graphql(fraud, QUERY, { aggregate: { op: 'SUM', column: 'salary' }, noise: { epsilon: 1 } })).status).toBe(200);
    const refused = await world.kh.graphql(fraud, QUERY, { aggregate: { op: 'SUM', column: 'salary' }, noise: { epsilon: 1 } });
    expect(refused.body.errors![0]!.extensions?.code).toBe('BUDGET_EXHAUSTED');
    expect(refused.body.data ?? null).toBeNull();
  });
});
