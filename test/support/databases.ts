import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';
import { createPgDb, createPgliteDb, type Db } from '../../src/sql/index.ts';

/** The real PostgreSQL server the suites run against (DESIGN.md: never a mock). */
export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url?: string;
  db: Db;
  drop(): Promise<void>;
}

/** An empty PostgreSQL database of its own for one suite; `drop()` removes it. */
export async function createPostgresTestDatabase(): Promise<TestDatabase> {
  const name = `keyhole_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createPgDb({ connectionString: url.toString(), max: 8 });
  return {
    name: 'postgres',
    url: url.toString(),
    db,
    async drop() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

let template: Promise<Blob> | undefined;

/** An in-memory PGlite database for one suite, started from the run's initialised template (pglite-template.ts). */
export async function createPgliteTestDatabase(): Promise<TestDatabase> {
  template ??= readFile(inject('pgliteTemplate')).then((bytes) => new Blob([bytes]));
  const db = await createPgliteDb({ template: await template });
  return { name: 'pglite', db, drop: () => db.close() };
}

/** Both engines, so a suite can run `describe.each(ENGINES)` and prove the same behaviour on each. */
export const ENGINES = [
  { engine: 'pglite', create: createPgliteTestDatabase },
  { engine: 'postgres', create: createPostgresTestDatabase },
] as const;
