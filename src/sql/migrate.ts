import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Applies Keyhole's own tables (audit, ledger, registries) from `migrations/*.sql` in file-name order.
 * Each file is idempotent; `keyhole_migrations` remembers the digest of each file applied, so a start (and
 * every CLI command) runs only what is new or changed instead of replaying every file: that replay was most
 * of the time `agents revoke` spent on an embedded database.
 */
export async function migrate(db: Db): Promise<void> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  await db.exec('CREATE TABLE IF NOT EXISTS keyhole_migrations (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied = new Map(
    (await db.query<{ name: string; sha256: string }>('SELECT name, sha256 FROM keyhole_migrations')).rows.map((row) => [row.name, row.sha256]),
  );
  for (const name of names) {
    const sql = await readFile(MIGRATIONS_DIR + name, 'utf8');
    const sha256 = createHash('sha256').update(sql).digest('hex');
    if (applied.get(name) === sha256) continue;
    await db.exec(sql);
    await db.query(
      'INSERT INTO keyhole_migrations (name, sha256) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()',
      [name, sha256],
    );
  }
}
