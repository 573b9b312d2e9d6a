import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import {
  HeError,
  HeInputError,
  HeKeyMismatchError,
  type KeyPair,
  clearPublicMaterialCache,
  decodeResultEnvelope,
  decryptResult,
  decryptWithKey,
  encodeResultEnvelope,
  encryptColumn,
  generateKeys,
  writeKeyDirectory,
} from '../../src/he/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { ENGINES, type TestDatabase, createPostgresTestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

const EMPLOYEES = 10_000; // two BFV batches of 8192 slots, so masks span batches
const KEY = 'payroll';
// Exact answers cover one department × work_jurisdiction cell (schema/policies.yaml); each holds ~200 employees here.
const cell = (department: string, jurisdiction: string) => ({ department: { eq: department }, work_jurisdiction: { eq: jurisdiction } });
const RISK_SG = cell('risk', 'SG');
const IN_RISK_SG = `department = 'risk' AND work_jurisdiction = 'SG'`;

const QUERY = `query ($key: String!, $aggregate: EmployeeEncryptedAggregate!, $where: EmployeeEncryptedWhere) {
  employees_encrypted(key: $key, aggregate: $aggregate, where: $where) { key scheme operation column rowCount result precision largestSafeTotal }
}`;

let keyDir: string;
let otherKeys: KeyPair;

beforeAll(async () => {
  // The key holder's side: keys made once for the file, the secret staying in this directory.
  keyDir = join(await mkdtemp(join(tmpdir(), 'keyhole-he-holder-')), 'keys');
  await writeKeyDirectory(keyDir, await generateKeys('bfv'));
  otherKeys = await generateKeys('bfv');
});

afterAll(async () => {
  clearPublicMaterialCache();
  await rm(join(keyDir, '..'), { recursive: true, force: true });
});

describe.each(ENGINES)('encrypted aggregates through GraphQL on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let fraud: string;

  const ask = (variables: Record<string, unknown>) => kh.graphql(fraud, QUERY, { key: KEY, ...variables });
  const plain = async (sql: string) => (await t.db.query<Record<string, string>>(sql)).rows[0]!;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    // Known salaries within the catalog bounds [0, 1000000], a few NULLs, every department and jurisdiction.
    await t.db.exec(`INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
      SELECT 5000 + g, 'Employee ' || g, 'e' || g || '@bank.example',
             (ARRAY['retail-banking','insurance','risk','technology','operations','compliance'])[1 + g % 6],
             (ARRAY['SG','EU-DE','EU-FR','US-CA','CN','IN','AU','JP'])[1 + (g / 7) % 8],
             CASE WHEN g % 997 = 0 THEN NULL ELSE (g * 7919) % 1000001 END
        FROM generate_series(1, ${EMPLOYEES}) g`);
    kh = await startTestBroker(t.db);
    await registerKeyDirectory(t.db, keyDir, KEY);
    await encryptColumn({ db: t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: KEY, bounds: [0, 1_000_000] });
    fraud = await kh.token('fraud-bot', 'payroll_analytics');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('sums the salaries of one cell under encryption; the key holder decrypts the exact SQL total', async () => {
    const reply = await ask({ aggregate: { op: 'SUM', column: 'salary' }, where: RISK_SG });
    expect(reply.body.errors).toBeUndefined();
    const answer = reply.body.data!.employees_encrypted;
    const expected = await plain(`SELECT sum(salary)::text AS total, count(salary)::int AS n FROM employees WHERE ${IN_RISK_SG}`);
    expect(answer).toMatchObject({
      key: KEY,
      scheme: 'bfv',
      operation: 'SUM',
      column: 'salary',
      rowCount: expected.n,
      precision: 0,
      largestSafeTotal: 549755740160,
    });
    const decrypted = await decryptResult(keyDir, answer.result);
    expect(decrypted.value).toBe(BigInt(expected.total!));
    expect(decrypted.count).toBeUndefined();
  });

  it('computes a filtered MEAN as an encrypted sum with its plain count', async () => {
    const reply = await ask({ aggregate: { op: 'MEAN', column: 'salary' }, where: cell('technology', 'EU-DE') });
    const answer = reply.body.data!.employees_encrypted;
    const expected = await plain(
      `SELECT sum(salary)::text AS total, count(salary)::int AS n FROM employees WHERE department = 'technology' AND work_jurisdiction = 'EU-DE'`,
    );
    const decrypted = await decryptResult(keyDir, answer.result);
    expect(decrypted).toMatchObject({ value: BigInt(expected.total!), count: expected.n });
    expect(decrypted.mean).toBeCloseTo(Number(expected.total) / Number(expected.n), 6);
    expect(answer.rowCount).toBe(expected.n);
  });

  it('computes a WEIGHTED_SUM with public per-department weights', async () => {
    const weights = {
      by: 'department',
      weights: [
        { value: 'risk', weight: 3 },
        { value: 'technology', weight: -2 },
      ],
      otherwise: 1,
    };
    const reply = await ask({ aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights }, where: cell('technology', 'EU-FR') });
    expect(reply.body.errors).toBeUndefined();
    const expected = await plain(`SELECT (-2 * sum(salary))::text AS total FROM employees WHERE department = 'technology' AND work_jurisdiction = 'EU-FR'`);
    const decrypted = await decryptResult(keyDir, reply.body.data!.employees_encrypted.result);
    expect(decrypted.value).toBe(BigInt(expected.total!));
  });

  it('answers COUNT in plain text, without a ciphertext', async () => {
    const reply = await ask({ aggregate: { op: 'COUNT', column: 'salary' }, where: cell('compliance', 'IN') });
    const expected = await plain(`SELECT count(salary)::int AS n FROM employees WHERE department = 'compliance' AND work_jurisdiction = 'IN'`);
    expect(reply.body.data!.employees_encrypted).toMatchObject({ operation: 'COUNT', rowCount: expected.n, result: null });
  });

  it('refuses a query whose recorded bounds × weights × rows could overflow the plain modulus', async () => {
    // ~208 rows × 10⁶ × 10⁶ overflows; the same cell weighted by 1000 stays within range.
    const weights = { by: 'department', weights: [], otherwise: 1_000_000 };
    const reply = await ask({ aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights }, where: RISK_SG });
    expect(reply.body.errors![0]!.extensions?.code).toBe('HE_OVERFLOW');
    expect(reply.body.errors![0]!.message).toMatch(/549755740160/);
    expect(reply.body.data ?? null).toBeNull();
    const narrow = await ask({ aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights: { ...weights, otherwise: 1000 } }, where: RISK_SG });
    expect(narrow.body.errors).toBeUndefined();
  });

  it('refuses an unknown key, a column not encrypted under the key, and fractional BFV weights', async () => {
    const unknown = await ask({ key: 'nobody', aggregate: { op: 'SUM', column: 'salary' }, where: RISK_SG });
    expect(unknown.body.errors![0]!.extensions?.code).toBe('HE_KEY_UNKNOWN');
    await registerKeyDirectory(t.db, keyDir, 'spare');
    const spare = await ask({ key: 'spare', aggregate: { op: 'SUM', column: 'salary' }, where: RISK_SG });
    expect(spare.body.errors![0]!.extensions?.code).toBe('HE_NOT_ENCRYPTED');
    const fractional = await ask({
      aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights: { by: 'department', weights: [{ value: 'risk', weight: 0.5 }] } },
      where: RISK_SG,
    });
    expect(fractional.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
    const missing = await ask({ aggregate: { op: 'WEIGHTED_SUM', column: 'salary' }, where: RISK_SG });
    expect(missing.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
  });

  it('never filters by the encrypted column itself', async () => {
    const reply = await kh.graphql(
      fraud,
      `{ employees_encrypted(key: "${KEY}", aggregate: { op: SUM, column: salary }, where: { salary: { gt: 100000 } }) { rowCount } }`,
    );
    expect(reply.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(reply.body.data ?? null).toBeNull();
  });

  it('gives a result that only the right key opens, and a tampered one fails cleanly', async () => {
    const reply = await ask({ aggregate: { op: 'SUM', column: 'salary' }, where: RISK_SG });
    const result: string = reply.body.data!.employees_encrypted.result;
    await expect(decryptWithKey(otherKeys, result)).rejects.toThrow(HeKeyMismatchError);

    const bytes = Buffer.from(result, 'base64');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0x01, bytes.length - 100);
    await expect(decryptResult(keyDir, bytes.toString('base64'))).rejects.toThrow(HeInputError);

    // A consistent envelope around a modified ciphertext: SEAL's load or the slot check refuses it.
    const envelope = decodeResultEnvelope(result);
    const ciphertext = envelope.ciphertext.slice();
    for (let i = ciphertext.length - 4096; i < ciphertext.length - 2048; i++) ciphertext[i] = ciphertext[i]! ^ 0x5a;
    await expect(decryptResult(keyDir, encodeResultEnvelope({ ...envelope, ciphertext }))).rejects.toThrow(HeError);
    await expect(decryptResult(keyDir, 'not an envelope')).rejects.toThrow(HeInputError);
  });

  it('audits every encrypted aggregate with key, filter and row count, refusals included', async () => {
    const { rows } = await t.db.query<{ decision: string; code: string | null; row_count: number; tables: string[]; details: any; fields: any }>(
      `SELECT decision, code, row_count, tables, details, fields FROM audit_log WHERE operation_kind = 'encrypted_aggregate' ORDER BY seq`,
    );
    const first = rows[0]!;
    const expected = await plain(`SELECT count(salary)::int AS n FROM employees WHERE ${IN_RISK_SG}`);
    expect(first).toMatchObject({ decision: 'allowed', code: null, row_count: expected.n, tables: ['employees'] });
    expect(first.fields).toEqual([{ table: 'employees', field: 'salary', mask: 'encrypted:bfv' }]);
    expect(first.details.encryptedAggregates).toHaveLength(1);
    expect(first.details.encryptedAggregates[0]).toMatchObject({
      key: KEY,
      operation: 'SUM',
      column: 'salary',
      filter: RISK_SG,
      rowCount: expected.n,
      scheme: 'bfv',
    });
    const overflow = rows.find((row) => row.code === 'HE_OVERFLOW')!;
    expect(overflow).toMatchObject({ decision: 'denied', row_count: 0 });
    expect(overflow.details.encryptedAggregates).toMatchObject([{ key: KEY, operation: 'WEIGHTED_SUM', filter: RISK_SG }]);
    expect(rows.map((row) => row.code)).toEqual(expect.arrayContaining(['HE_KEY_UNKNOWN', 'HE_NOT_ENCRYPTED']));
  });
});

describe('encrypted aggregates over a CKKS column (reals, approximate within the stated precision)', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let root: string;
  let ckksKeys: string;

  beforeAll(async () => {
    // The same project with salary declared CKKS, as a steward would for a column of reals.
    root = await mkdtemp(join(tmpdir(), 'keyhole-he-ckks-root-'));
    await cp(join(PROJECT_ROOT, 'schema'), join(root, 'schema'), { recursive: true });
    await cp(join(PROJECT_ROOT, 'masking-rules'), join(root, 'masking-rules'), { recursive: true });
    const catalog = join(root, 'schema', 'catalog.yaml');
    const text = await readFile(catalog, 'utf8');
    expect(text).toContain('encrypted: { scheme: bfv, plaintext: present }');
    await writeFile(catalog, text.replace('encrypted: { scheme: bfv, plaintext: present }', 'encrypted: { scheme: ckks, plaintext: present }'));
    ckksKeys = join(root, 'keys');
    await writeKeyDirectory(ckksKeys, await generateKeys('ckks'));

    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    await t.db.exec(`INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
      SELECT 5000 + g, 'Employee ' || g, 'e' || g || '@bank.example',
             (ARRAY['retail-banking','insurance','risk','technology','operations','compliance'])[1 + g % 6], 'SG', (g * 7919) % 1000001
        FROM generate_series(1, 6000) g`);
    kh = await startTestBroker(t.db, { root });
    await registerKeyDirectory(t.db, ckksKeys, 'reals');
    await encryptColumn({ db: t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'reals', bounds: [0, 1_000_000] });
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('decrypts filtered SUM and WEIGHTED_SUM within the precision the answer states', async () => {
    const fraud = await kh.token('fraud-bot', 'payroll_analytics');
    const weights = { by: 'department', weights: [{ value: 'risk', weight: 0.25 }], otherwise: 1 };
    const sum = await kh.graphql(fraud, QUERY, { key: 'reals', aggregate: { op: 'SUM', column: 'salary' }, where: RISK_SG });
    const weighted = await kh.graphql(fraud, QUERY, { key: 'reals', aggregate: { op: 'WEIGHTED_SUM', column: 'salary', weights }, where: RISK_SG });
    const { rows } = await t.db.query<{ total: string; weighted: string }>(
      `SELECT sum(salary)::text AS total, (0.25 * sum(salary))::text AS weighted FROM employees WHERE ${IN_RISK_SG}`,
    );
    for (const [reply, expected] of [
      [sum, rows[0]!.total],
      [weighted, rows[0]!.weighted],
    ] as const) {
      expect(reply.body.errors).toBeUndefined();
      const answer = reply.body.data!.employees_encrypted;
      expect(answer.scheme).toBe('ckks');
      expect(answer.precision).toBeGreaterThan(0);
      expect(answer.precision).toBeLessThan(1);
      const decrypted = await decryptResult(ckksKeys, answer.result);
      expect(Math.abs(Number(decrypted.value) - Number(expected))).toBeLessThanOrEqual(answer.precision);
    }
  });
});
