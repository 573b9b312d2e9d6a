import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Applies Keyhole's own tables (audit, ledger, registries) from `migrations/*.sql` in file-name order.
 * Each file is idempotent, so running this on every start is safe and needs no version table.
 */
export async function migrate(db: Db): Promise<void> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  for (const file of files) {
    await db.exec(await readFile(MIGRATIONS_DIR + file, 'utf8'));
  }
}
