/**
 * A PostgreSQL database of its own for one bench, on the local server (127.0.0.1:5432 unless
 * DATABASE_URL names another), with Keyhole's tables and the demo data set; `drop()` removes it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { seedDemo, type SeedResult } from '../../src/demo/index.ts';
import { createPgDb, type Db, migrate } from '../../src/sql/index.ts';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  url: string;
  /** A `Db` for the bench's own set-up and direct queries (its own pool). */
  db: Db;
  seeded: SeedResult;
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Creates, migrates, seeds (demo `scale`) and ANALYZEs a fresh database. */
export async function createBenchDatabase(options: { scale: number }): Promise<BenchDatabase> {
  const name = `keyhole_bench_${randomBytes(6).toString('hex')}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createPgDb({ connectionString: url.toString(), max: 4 });
  const drop = async () => {
    await db.close();
    await asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  try {
    await migrate(db);
    const seeded = await seedDemo(db, { scale: options.scale });
    // Fresh tables have no statistics: plan every server's queries on the same, realistic estimates.
    await db.exec('ANALYZE');
    return { url: url.toString(), db, seeded, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}
