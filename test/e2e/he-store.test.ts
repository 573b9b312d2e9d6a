import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeInputError,
  HeKeyMismatchError,
  type KeyPair,
  clearPublicMaterialCache,
  decryptWithKey,
  encryptColumn,
  encryptedMean,
  encryptedSum,
  generateKeys,
  loadPublicMaterial,
  publicBundleOf,
  quoteIdentifier,
  readBatches,
  registerKey,
} from '../../src/he/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const MIGRATIONS = ['030-he.sql', '075-he-batch-bounds.sql'].map((file) => new URL(`../../src/sql/migrations/${file}`, import.meta.url));
const ROWS = 20_000;

let keys: KeyPair;
let otherKeys: KeyPair;

beforeAll(async () => {
  keys = await generateKeys('bfv');
  otherKeys = await generateKeys('bfv');
});

afterAll(() => clearPublicMaterialCache());

describe.each(ENGINES)('encrypted column store on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
    const sql = (await Promise.all(MIGRATIONS.map((file) => readFile(file, 'utf8')))).join('\n');
    await t.db.exec(sql);
    await t.db.exec(sql); // idempotent
    // Gaps in ids, negative values and a few NULLs, so resuming by id and skipping NULLs matter.
    await t.db.exec(`CREATE TABLE employees (id bigint PRIMARY KEY, dept int NOT NULL, salary int);
      INSERT INTO employees SELECT g * 3, g % 7, CASE WHEN g % 997 = 0 THEN NULL ELSE (g * 7919) % 200001 - 50000 END
        FROM generate_series(1, ${ROWS}) g;`);
    await registerKey(t.db, 'analyst', publicBundleOf(keys));
  });
  afterAll(async () => {
    await t.drop();
  });

  it('keeps only public key parts in the registry, and refuses another key under a taken name', async () => {
    await registerKey(t.db, 'analyst', publicBundleOf(keys));
    await expect(registerKey(t.db, 'analyst', publicBundleOf(otherKeys))).rejects.toThrow(HeKeyMismatchError);
    const { rows } = await t.db.query<{ fingerprint: string }>('SELECT fingerprint FROM he_keys');
    expect(rows).toEqual([{ fingerprint: keys.fingerprint }]);
    const columns = await t.db.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'he_keys'`);
    expect(columns.rows.map((row) => row.column_name)).not.toContain('secret_key');
  });

  it('encrypts a column, survives an interruption, resumes, and sums exactly under a mask', async () => {
    const options = { db: t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'analyst', bounds: [-50_000, 150_000] as const };
    const controller = new AbortController();
    await expect(encryptColumn({ ...options, signal: controller.signal, onProgress: ({ batches }) => batches === 1 && controller.abort() })).rejects.toThrow();
    expect(await readBatches(t.db, 'employees', 'salary', 'analyst')).toHaveLength(1);

    const seen: number[] = [];
    const done = await encryptColumn({ ...options, onProgress: ({ batches }) => seen.push(batches) });
    expect(seen).toEqual([2, 3]);
    const nonNull = await t.db.query<{ n: number }>('SELECT count(salary)::int AS n FROM employees');
    expect(done).toEqual({ batches: 3, rows: nonNull.rows[0]!.n });
    // Every batch records the bounds its values were checked against: the overflow guard's only source.
    const recorded = await t.db.query('SELECT DISTINCT min_value::int AS low, max_value::int AS high FROM he_batches');
    expect(recorded.rows).toEqual([{ low: -50_000, high: 150_000 }]);

    const batches = await readBatches(t.db, 'employees', 'salary', 'analyst');
    const ids = batches.flatMap((batch) => batch.rowIds);
    const expectedIds = await t.db.query<{ row_id: string }>('SELECT id::text AS row_id FROM employees WHERE salary IS NOT NULL ORDER BY employees.id');
    expect(ids).toEqual(expectedIds.rows.map((row) => BigInt(row.row_id)));

    // Resuming a finished column adds nothing.
    expect(await encryptColumn(options)).toEqual(done);

    const dept = await t.db.query<{ id: string }>('SELECT id::text AS id FROM employees WHERE dept IN (2, 5)');
    const selected = new Set(dept.rows.map((row) => BigInt(row.id)));
    const material = await loadPublicMaterial(t.db, 'analyst');
    const result = await encryptedMean(
      material,
      batches.map((batch) => ({ ciphertext: batch.ciphertext, rowCount: batch.rowIds.length, mask: batch.rowIds.map((id) => (selected.has(id) ? 1 : 0)) })),
    );
    const sql = await t.db.query<{ total: string; n: number }>(
      'SELECT sum(salary)::text AS total, count(salary)::int AS n FROM employees WHERE dept IN (2, 5)',
    );
    const decrypted = await decryptWithKey(keys, result);
    expect(decrypted.value).toBe(BigInt(sql.rows[0]!.total));
    expect(decrypted.count).toBe(sql.rows[0]!.n);
  });

  it('refuses unsafe identifiers and non-integer columns for BFV', async () => {
    expect(quoteIdentifier('salary')).toBe('"salary"');
    for (const bad of ['Salary', 'salary; drop table x', 'a"b', '1abc', '']) expect(() => quoteIdentifier(bad)).toThrow(HeInputError);
    await t.db.exec(`CREATE TABLE prices (id int PRIMARY KEY, price numeric); INSERT INTO prices VALUES (1, 2.5)`);
    await expect(encryptColumn({ db: t.db, table: 'prices', column: 'price', idColumn: 'id', keyName: 'analyst', bounds: [0, 10] })).rejects.toThrow(
      /integers only/,
    );
    await expect(encryptColumn({ db: t.db, table: 'prices"--', column: 'price', idColumn: 'id', keyName: 'analyst', bounds: [0, 10] })).rejects.toThrow(
      HeInputError,
    );
  });

  it('refuses batches of the store summed with another key', async () => {
    await registerKey(t.db, 'other', publicBundleOf(otherKeys));
    const other = await loadPublicMaterial(t.db, 'other');
    const [first] = await readBatches(t.db, 'employees', 'salary', 'analyst');
    await expect(encryptedSum(other, [{ ciphertext: first!.ciphertext }])).rejects.toThrow(HeKeyMismatchError);
  });
});
