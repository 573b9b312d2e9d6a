import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A freshly initialised PGlite data directory (dumpDataDir), which every in-memory test database starts from. */
    pgliteTemplate: string;
  }
}

/**
 * Vitest global setup: initdb once, not once per test database. An in-memory PGlite runs initdb on every
 * open (2.5–3.8 s, FACTS.md); loading this dump instead takes ~0.4 s. Kept under test-artifacts/ per PGlite
 * version, so later runs (and every mutant of a mutation run) reuse it; written by rename, so concurrent runs
 * never read half a file.
 */
export default async function setup(project: TestProject): Promise<void> {
  // The package does not export its package.json, so it is read from where npm put it.
  const manifest = join(project.config.root, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  const dir = join(project.config.root, 'test-artifacts');
  const file = join(dir, `pglite-template-${version}.tar`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const pglite = await PGlite.create();
    const dump = await pglite.dumpDataDir('none');
    await pglite.close();
    const partial = `${file}.${process.pid}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, file);
  }
  project.provide('pgliteTemplate', file);
}
