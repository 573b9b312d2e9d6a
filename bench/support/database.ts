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

/** A fresh, migrated database with no data in it (a pool of `poolSize` connections, 4 when absent). */
export async function createEmptyBenchDatabase(options: { poolSize?: number } = {}): Promise<Omit<BenchDatabase, 'seeded'>> {
  const name = `keyhole_bench_${randomBytes(6).toString('hex')}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createPgDb({ connectionString: url.toString(), max: options.poolSize ?? 4 });
  const drop = async () => {
    await db.close();
    await asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  try {
    await migrate(db);
    return { url: url.toString(), db, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** Creates, migrates, seeds (demo `scale`) and ANALYZEs a fresh database. */
export async function createBenchDatabase(options: { scale: number }): Promise<BenchDatabase> {
  const database = await createEmptyBenchDatabase();
  try {
    const seeded = await seedDemo(database.db, { scale: options.scale });
    // Fresh tables have no statistics: plan every server's queries on the same, realistic estimates.
    await database.db.exec('ANALYZE');
    return { ...database, seeded };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
