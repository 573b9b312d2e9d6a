import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import {
  HeSecretKeyRefusedError,
  type KeyPair,
  clearPublicMaterialCache,
  generateKeys,
  loadPublicMaterial,
  openPublicMaterial,
  publicBundleOf,
  writeKeyDirectory,
} from '../../src/he/index.ts';
import * as keyHolder from '../../src/he/keyholder.ts';
import { decodeKeyBlob } from '../../src/he/key-blob.ts';
import { type Db, createPgliteDb, migrate } from '../../src/sql/index.ts';
import { startTestBroker } from '../support/broker.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const KEY_HOLDER_MODULE = 'he/keyholder.ts';
/** Key-holder side code: the module itself, the barrel that re-exports it, and the CLI. */
const KEY_HOLDER_SIDE = [KEY_HOLDER_MODULE, 'he/index.ts', 'cli/'];

async function sourceFiles(dir = SRC): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])));
  return nested.flat();
}

const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:([\w*\s{},]+?)\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(source: string): Array<{ names: string; specifier: string; dynamic: boolean }> {
  return [...source.matchAll(IMPORT)].map((m) => ({ names: m[1] ?? '', specifier: m[2] ?? m[3]!, dynamic: m[3] !== undefined }));
}

const CLI_ENTRY = join(SRC, 'cli/main.ts');

/**
 * Every source file the broker process (`keyhole serve`) loads, following relative imports from the CLI's entry
 * and the serve command. The entry loads only the command its command line names, so the other commands it could
 * load are not followed.
 */
async function brokerModuleGraph(): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = [CLI_ENTRY, join(SRC, 'cli/serve-command.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { specifier, dynamic } of importsOf(await readFile(file, 'utf8'))) {
      if (specifier.startsWith('.') && !(dynamic && file === CLI_ENTRY)) queue.push(resolve(dirname(file), specifier));
    }
  }
  return new Set([...seen].map((file) => relative(SRC, file)));
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Windows of a key's SEAL payload, past the header every key shares: random coefficients unique to it. */
function windowsOf(payload: Uint8Array): Uint8Array[] {
  return [0.2, 0.4, 0.6, 0.8].map((at) => payload.subarray(Math.floor(payload.length * at), Math.floor(payload.length * at) + 48));
}

describe('the broker never holds a secret key', () => {
  let keys: KeyPair;
  let work: string;
  let keyDir: string;
  let db: Db;

  beforeAll(async () => {
    keys = await generateKeys('bfv');
    work = await mkdtemp(join(tmpdir(), 'keyhole-he-secret-'));
    keyDir = join(work, 'keys');
    await writeKeyDirectory(keyDir, keys);
    db = await createPgliteDb();
    await migrate(db);
  });
  afterAll(async () => {
    clearPublicMaterialCache();
    await db.close();
    await rm(work, { recursive: true, force: true });
  });

  it('no broker module imports the key holder (statically: the module graph from its entry points)', async () => {
    const graph = await brokerModuleGraph();
    expect(graph.has('he/encrypted-query.ts'), 'the encrypted aggregates are part of the broker').toBe(true);
    expect(graph.has('he/public-material.ts')).toBe(true);
    expect(graph.has(KEY_HOLDER_MODULE)).toBe(false);
    expect(graph.has('he/index.ts'), 'the he barrel re-exports the key holder: broker code imports the modules it needs').toBe(false);
    expect(graph.has('cli/he-command.ts')).toBe(false);

    const keyHolderNames = Object.keys(keyHolder);
    expect(keyHolderNames).toEqual(expect.arrayContaining(['decryptResult', 'decryptWithKey', 'generateKeys']));
    for (const file of await sourceFiles()) {
      const path = relative(SRC, file);
      if (KEY_HOLDER_SIDE.some((side) => path.startsWith(side))) continue;
      for (const { names, specifier } of importsOf(await readFile(file, 'utf8'))) {
        expect(specifier.endsWith('keyholder.ts'), `${path} imports ${specifier}`).toBe(false);
        const imported = names.split(/[\s,{}]+/).filter(Boolean);
        expect(
          imported.filter((name) => keyHolderNames.includes(name)),
          `${path} imports key-holder functions`,
        ).toEqual([]);
      }
    }
  });

  it('registers only public parts: no column for a secret, and no secret key bytes in any registry row', async () => {
    await registerKeyDirectory(db, keyDir, 'analyst');
    const { rows: columns } = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'he_keys' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['name', 'scheme', 'params_id', 'fingerprint', 'public_key', 'relin_keys', 'galois_keys', 'created_at']);

    const secretPayload = decodeKeyBlob(new Uint8Array(await readFile(join(keyDir, 'secret.key'))), 'secret.key').payload;
    const publicPayload = decodeKeyBlob(keys.publicKey, 'public.key').payload;
    const occurrences = async (window: Uint8Array) => {
      const { rows } = await db.query<{ hits: number }>(
        `SELECT count(*)::int AS hits FROM he_keys
          WHERE position(decode($1, 'hex') IN public_key) > 0 OR position(decode($1, 'hex') IN relin_keys) > 0 OR position(decode($1, 'hex') IN galois_keys) > 0`,
        [hex(window)],
      );
      return rows[0]!.hits;
    };
    // The search finds what is there (public key bytes), so finding nothing for the secret means something.
    for (const window of windowsOf(publicPayload)) expect(await occurrences(window)).toBe(1);
    for (const window of windowsOf(secretPayload)) expect(await occurrences(window)).toBe(0);
  });

  it('refuses the secret key file, a directory holding only it, and a secret key renamed public.key', async () => {
    await expect(registerKeyDirectory(db, join(keyDir, 'secret.key'), 'leak')).rejects.toThrow(HeSecretKeyRefusedError);
    const onlySecret = join(work, 'only-secret');
    await mkdir(onlySecret);
    await cp(join(keyDir, 'secret.key'), join(onlySecret, 'secret.key'));
    await expect(registerKeyDirectory(db, onlySecret, 'leak')).rejects.toThrow(HeSecretKeyRefusedError);
    const disguised = join(work, 'disguised');
    await cp(keyDir, disguised, { recursive: true });
    await writeFile(join(disguised, 'public.key'), keys.secretKey);
    await expect(registerKeyDirectory(db, disguised, 'leak')).rejects.toThrow(HeSecretKeyRefusedError);
    expect((await db.query<{ name: string }>('SELECT name FROM he_keys ORDER BY name')).rows).toEqual([{ name: 'analyst' }]);
  });

  it('openPublicMaterial refuses a bundle carrying a secret key, in its own field or in place of the public key', async () => {
    const bundle = publicBundleOf(keys);
    await expect(openPublicMaterial({ ...bundle, secretKey: keys.secretKey } as never)).rejects.toThrow(HeSecretKeyRefusedError);
    await expect(openPublicMaterial({ ...bundle, publicKey: keys.secretKey })).rejects.toThrow(HeSecretKeyRefusedError);
    await expect(openPublicMaterial({ ...bundle, galoisKeys: keys.secretKey })).rejects.toThrow(HeSecretKeyRefusedError);
  });

  it("leaves no secret key bytes in the broker's data directory or its loaded key material", async () => {
    const kh = await startTestBroker(db);
    try {
      const material = await loadPublicMaterial(db, 'analyst');
      expect(Object.keys(material)).not.toContain('secretKey');
      const secretPayload = decodeKeyBlob(keys.secretKey, 'secret.key').payload;
      const files = await readdir(kh.dataDir, { recursive: true, withFileTypes: true });
      for (const file of files.filter((f) => f.isFile())) {
        const bytes = await readFile(join(file.parentPath, file.name));
        for (const window of windowsOf(secretPayload)) expect(bytes.includes(Buffer.from(window)), file.name).toBe(false);
      }
    } finally {
      await kh.close();
    }
  });
});
