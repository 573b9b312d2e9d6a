import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/sql/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

describe.each(ENGINES)('Db adapter on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('returns the same JS types on both engines', async () => {
    const { rows } = await t.db.query(
      `SELECT 42::int8 AS small, 9007199254740993::int8 AS big, 1.50::numeric AS amount,
              DATE '2024-02-29' AS day, '{"a":1}'::jsonb AS doc, $1::text AS param`,
      ['x'],
    );
    expect(rows[0]).toEqual({ small: 42, big: 9007199254740993n, amount: '1.50', day: '2024-02-29', doc: { a: 1 }, param: 'x' });
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await t.db.exec('CREATE TABLE tx_probe (v int)');
    await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_probe VALUES ($1)', [1]);
    });
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_probe VALUES ($1)', [2]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await t.db.query('SELECT v FROM tx_probe ORDER BY v');
    expect(rows).toEqual([{ v: 1 }]);
  });

  it('reports a failing statement as a DatabaseError with its SQLSTATE', async () => {
    await expect(t.db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ name: 'DatabaseError', sqlState: '42P01' });
  });
  it('applies each migration once, remembers its digest, and re-applies a file whose digest changed', async () => {
    const execs: string[] = [];
    const counting = {
      ...t.db,
      exec: async (sql: string) => {
        execs.push(sql);
        await t.db.exec(sql);
      },
    };
    await migrate(counting);
    const first = execs.length;
    const applied = (await t.db.query<{ name: string; sha256: string }>('SELECT name, sha256 FROM keyhole_migrations ORDER BY name')).rows;
    expect(applied.map((row) => row.name)).toContain('020-audit.sql');
    expect(applied.every((row) => /^[0-9a-f]{64}$/.test(row.sha256))).toBe(true);
    // The bookkeeping table's own CREATE IF NOT EXISTS, and every file.
    expect(first).toBe(applied.length + 1);
    execs.length = 0;
    await migrate(counting);
    expect(execs).toHaveLength(1);
    await t.db.query("UPDATE keyhole_migrations SET sha256 = 'edited' WHERE name = '020-audit.sql'");
    execs.length = 0;
    await migrate(counting);
    expect(execs).toHaveLength(2);
    expect(execs[1]).toMatch(/audit_log/);
  });
});
