import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import { HeInputError, clearPublicMaterialCache, decryptResult, encryptColumn, generateKeys, writeKeyDirectory } from '../../src/he/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { ENGINES, type TestDatabase, createPostgresTestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

/*
 * The key holder is a person too (issue 21, item 7): what the key holder decrypts must not single anyone out,
 * and the overflow guard must rest on the bounds the ciphertexts were encrypted under. Every answer here is
 * opened with the key holder's secret key, independently of the broker.
 */

const QUERY = `query ($aggregate: EmployeeEncryptedAggregate!, $where: EmployeeEncryptedWhere, $noise: EncryptedNoise) {
  employees_encrypted(key: "payroll", aggregate: $aggregate, where: $where, noise: $noise) { rowCount result epsilonSpent }
}`;
const SUM = { op: 'SUM', column: 'salary' };
const cell = (department: string, jurisdiction: string) => ({ department: { eq: department }, work_jurisdiction: { eq: jurisdiction } });
const SINGLETON = cell('operations', 'JP');
const SINGLETON_SALARY = 123_400n;

/*
 * Beside the fixture's two employees (risk/SG, technology/EU-DE): a large cell, one singleton, a cell of five
 * employees of whom four have no salary (so one encrypted value), and technology/EU-DE at four employees.
 */
const EMPLOYEES = `INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary) VALUES
  (7001, 'Only One', 'only@bank.example', 'operations', 'JP', ${SINGLETON_SALARY});
  INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
  SELECT 7100 + g, 'Risk ' || g, 'r' || g || '@bank.example', 'risk', 'SG', 50000 + g * 1000 FROM generate_series(1, 12) g;
  INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
  SELECT 7200 + g, 'Compliance ' || g, 'c' || g || '@bank.example', 'compliance', 'IN', CASE WHEN g = 1 THEN 77700 END FROM generate_series(1, 5) g;
  INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
  SELECT 7300 + g, 'Tech ' || g, 't' || g || '@bank.example', 'technology', 'EU-DE', 90000 + g FROM generate_series(1, 3) g;`;

let keyDir: string;
beforeAll(async () => {
  keyDir = join(await mkdtemp(join(tmpdir(), 'keyhole-he-exact-')), 'keys');
  await writeKeyDirectory(keyDir, await generateKeys('bfv'));
});
afterAll(async () => {
  clearPublicMaterialCache();
  await rm(join(keyDir, '..'), { recursive: true, force: true });
});

async function encrypted(db: TestDatabase['db'], bounds: readonly [number, number] = [0, 1_000_000]): Promise<void> {
  await registerKeyDirectory(db, keyDir, 'payroll');
  await encryptColumn({ db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'payroll', bounds });
}

describe.each(ENGINES)('exact encrypted answers that single no one out on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let fraud: string;
  const ask = (variables: Record<string, unknown>) => kh.graphql(fraud, QUERY, variables);
  const refusal = async (variables: Record<string, unknown>) => {
    const reply = await ask(variables);
    expect(reply.body.data ?? null).toBeNull();
    const error = reply.body.errors![0]!;
    return { status: reply.status, code: error.extensions?.code, message: error.message };
  };

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    await t.db.exec(EMPLOYEES);
    kh = await startTestBroker(t.db);
    await encrypted(t.db);
    fraud = await kh.token('fraud-bot', 'payroll_analytics');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('answers one large cell exactly: the key holder decrypts the SQL total', async () => {
    const reply = await ask({ aggregate: SUM, where: cell('risk', 'SG') });
    expect(reply.body.errors).toBeUndefined();
    const expected = (
      await t.db.query<{ total: string; n: number }>(
        `SELECT sum(salary)::text AS total, count(*)::int AS n FROM employees WHERE department = 'risk' AND work_jurisdiction = 'SG'`,
      )
    ).rows[0]!;
    expect(reply.body.data!.employees_encrypted.rowCount).toBe(expected.n);
    expect((await decryptResult(keyDir, reply.body.data!.employees_encrypted.result)).value).toBe(BigInt(expected.total));
  });

  it('refuses a singleton cell exactly, for SUM and COUNT alike, with the refusal an empty or unknown cell gets', async () => {
    const singleton = await refusal({ aggregate: SUM, where: SINGLETON });
    expect(singleton).toMatchObject({ status: 403, code: 'HE_EXACT_NOT_ALLOWED' });
    expect(singleton.message).not.toMatch(/\b1\b/);
    // Below the minimum (4 employees), empty, or a value nobody has: the same answer, so the refusal is one bit.
    for (const where of [cell('technology', 'EU-DE'), cell('operations', 'AU'), cell('nobody', 'JP')]) {
      expect(await refusal({ aggregate: SUM, where })).toEqual(singleton);
    }
    expect(await refusal({ aggregate: { op: 'COUNT', column: 'salary' }, where: SINGLETON })).toEqual(singleton);
    expect(await refusal({ aggregate: { op: 'MEAN', column: 'salary' }, where: SINGLETON })).toEqual(singleton);
  });

  it('counts the subjects whose values an answer covers: four employees without a salary do not make a cell', async () => {
    // compliance/IN holds five employees but one encrypted salary: an exact total would be that salary.
    expect((await refusal({ aggregate: SUM, where: cell('compliance', 'IN') })).code).toBe('HE_EXACT_NOT_ALLOWED');
  });

  it('answers the singleton cell only with noise: what the key holder decrypts is not the salary', async () => {
    const reply = await ask({ aggregate: SUM, where: SINGLETON, noise: { epsilon: 1 } });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data!.employees_encrypted.epsilonSpent).toBe(1);
    const opened = await decryptResult(keyDir, reply.body.data!.employees_encrypted.result);
    // Discrete Laplace at ε/2 with sensitivity 10⁶ is 0 with probability ≈ 2.5·10⁻⁷.
    expect(opened.value).not.toBe(SINGLETON_SALARY);
  });

  it('refuses the second of a differencing pair: only whole cells, never unions, marginals or complements', async () => {
    const first = await ask({ aggregate: SUM, where: cell('risk', 'SG') });
    expect(first.body.errors).toBeUndefined();
    // (risk/SG or the singleton) − risk/SG would be the singleton's salary; so would operations − (operations ∖ JP).
    const differencing = [
      { or: [cell('risk', 'SG'), SINGLETON] },
      { department: { eq: 'operations' } },
      { department: { eq: 'operations' }, work_jurisdiction: { ne: 'JP' } },
      { department: { in: ['operations'] }, work_jurisdiction: { eq: 'JP' } },
      { ...cell('risk', 'SG'), not: SINGLETON },
      null,
    ];
    for (const where of differencing) expect((await refusal({ aggregate: SUM, where })).code).toBe('HE_EXACT_NOT_ALLOWED');
    // A weight that varies inside a cell would pick part of it.
    const weights = { by: 'department', weights: [{ value: 'risk', weight: 1 }], otherwise: 0 };
    expect((await refusal({ aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights }, where: { work_jurisdiction: { eq: 'SG' } } })).code).toBe(
      'HE_EXACT_NOT_ALLOWED',
    );
  });

  it('gives a noisy answer the same overflow outcome whether or not its predicate matches anyone', async () => {
    // Before: the guard counted the rows matched (and their weights), so a heavy weight turned HE_OVERFLOW into a
    // free test of "does this predicate match a row?". Now it assumes every stored row and the declared weights.
    const weights = { by: 'department', weights: [{ value: 'operations', weight: 600_000 }], otherwise: 0 };
    const aggregate = { op: 'WEIGHTED_SUM', column: 'salary', weights };
    const matching = await refusal({ aggregate, where: SINGLETON, noise: { epsilon: 0.5 } });
    const empty = await refusal({ aggregate, where: cell('operations', 'AU'), noise: { epsilon: 0.5 } });
    expect(matching.code).toBe('HE_OVERFLOW');
    expect(empty).toEqual(matching);
  });
});

describe('bounds recorded with the ciphertexts, and rows the view excludes', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let root: string;
  let fraud: string;

  beforeAll(async () => {
    // The steward tightens the catalog's salary bounds after encryption, and the policy hides JP employees.
    root = await mkdtemp(join(tmpdir(), 'keyhole-he-exact-root-'));
    await cp(join(PROJECT_ROOT, 'schema'), join(root, 'schema'), { recursive: true });
    await cp(join(PROJECT_ROOT, 'masking-rules'), join(root, 'masking-rules'), { recursive: true });
    const catalog = join(root, 'schema', 'catalog.yaml');
    const catalogText = await readFile(catalog, 'utf8');
    expect(catalogText).toContain('bounds: [0, 1000000]');
    await writeFile(catalog, catalogText.replace('bounds: [0, 1000000]', 'bounds: [0, 1000]'));
    const policies = join(root, 'schema', 'policies.yaml');
    const policyText = await readFile(policies, 'utf8');
    const encryptedSalary = '        encryptedAggregates: [salary]\n';
    expect(policyText).toContain(encryptedSalary);
    await writeFile(policies, policyText.replace(encryptedSalary, `${encryptedSalary}        rowFilter: { work_jurisdiction: { ne: JP } }\n`));

    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    await t.db.exec(EMPLOYEES);
    // Five more JP operations employees: the cell is large, but the view excludes every one of them.
    await t.db.exec(`INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
      SELECT 7400 + g, 'Ops ' || g, 'o' || g || '@bank.example', 'operations', 'JP', 60000 FROM generate_series(1, 5) g`);
    kh = await startTestBroker(t.db, { root });
    // Encrypted under the bounds of the time, [0, 1000000]; the catalog the broker reads now says [0, 1000].
    await encrypted(t.db);
    fraud = await kh.token('fraud-bot', 'payroll_analytics');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('guards with the widest recorded bounds, not tightened catalog bounds: HE_OVERFLOW, never a wrong exact total', async () => {
    // 13 rows × 1000 × 2·10⁶ fits the exact range; 13 rows × 10⁶ × 2·10⁶ does not (the attack decrypted to -304744409630).
    const overflowing = { op: 'WEIGHTED_SUM', column: 'salary', weights: { by: 'department', weights: [], otherwise: 2_000_000 } };
    const reply = await kh.graphql(fraud, QUERY, { aggregate: overflowing, where: cell('risk', 'SG') });
    expect(reply.body.errors![0]!.extensions?.code).toBe('HE_OVERFLOW');
    expect(reply.body.data ?? null).toBeNull();

    const fitting = { ...overflowing, weights: { ...overflowing.weights, otherwise: 3 } };
    const exact = await kh.graphql(fraud, QUERY, { aggregate: fitting, where: cell('risk', 'SG') });
    expect(exact.body.errors).toBeUndefined();
    const total = (
      await t.db.query<{ total: string }>(`SELECT (3 * sum(salary))::text AS total FROM employees WHERE department = 'risk' AND work_jurisdiction = 'SG'`)
    ).rows[0]!.total;
    expect((await decryptResult(keyDir, exact.body.data!.employees_encrypted.result)).value).toBe(BigInt(total));
  });

  it('never encrypts a value outside the bounds it records', async () => {
    await registerKeyDirectory(t.db, keyDir, 'tight');
    await expect(encryptColumn({ db: t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'tight', bounds: [0, 1000] })).rejects.toThrow(
      HeInputError,
    );
    expect((await t.db.query(`SELECT 1 FROM he_batches WHERE key_name = 'tight'`)).rows).toEqual([]);
  });

  it('answers a cell whose rows the view excludes exactly like an empty cell', async () => {
    const ask = async (where: Record<string, unknown>, op = 'SUM') => {
      const reply = await kh.graphql(fraud, QUERY, { aggregate: { op, column: 'salary' }, where });
      return { status: reply.status, body: reply.body };
    };
    for (const op of ['SUM', 'COUNT', 'MEAN']) {
      const hidden = await ask(SINGLETON, op);
      expect(hidden.body.errors![0]!.extensions?.code).toBe('HE_EXACT_NOT_ALLOWED');
      expect(hidden).toEqual(await ask(cell('operations', 'AU'), op));
    }
  });

  it('refuses batches stored before bounds were recorded (fail closed) until they are encrypted again', async () => {
    await t.db.exec(`UPDATE he_batches SET min_value = NULL, max_value = NULL WHERE key_name = 'payroll'`);
    const reply = await kh.graphql(fraud, QUERY, { aggregate: SUM, where: cell('risk', 'SG') });
    expect(reply.body.errors![0]!.extensions?.code).toBe('HE_OVERFLOW');
    expect(reply.body.errors![0]!.message).toMatch(/--fresh/);
  });
});
