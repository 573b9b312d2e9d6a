import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRulesVersion } from '../../src/audit/rules-versions.ts';
import { ConfigError, YamlSource } from '../../src/config/index.ts';
import { readRulesSnapshot } from '../../src/config/rules-versions.ts';
import { migrate } from '../../src/sql/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { keyholeCli, withCliWorld } from '../support/cli.ts';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { projectWith } from '../support/project.ts';
import { freePort } from '../support/ports.ts';

/** catalog.yaml with line 20 (a tag) broken: a quote never closed. */
const brokenLine20 = {
  'schema/catalog.yaml': (text: string) =>
    text
      .split('\n')
      .map((line, i) => (i === 19 ? line.replace(/\{.*/, '"never closed') : line))
      .join('\n'),
};

/** Runs `keyhole serve` to its exit; a start refused for its configuration exits at once. */
async function startBroker(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; ms: number }> {
  const started = performance.now();
  const child = promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), 'serve'], { env, timeout: 30_000 });
  try {
    await child;
    return { code: 0, stderr: '', ms: performance.now() - started };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr, ms: performance.now() - started };
  }
}

describe('configuration is checked before any database work', () => {
  let root: string;
  let dataDir: string;
  beforeAll(async () => {
    root = await projectWith(brokenLine20);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const embeddedEnv = (extra: NodeJS.ProcessEnv = {}) => {
    const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_ROOT: root, KEYHOLE_DATA_DIR: dataDir, PORT: '0', ...extra };
    delete env.DATABASE_URL;
    return env;
  };
  const nothingLeftIn = async (dir: string) => (existsSync(dir) ? (await readdir(dir)).filter((name) => name.startsWith('pgdata')) : []);

  it('reports a YAML syntax error on its real line', async () => {
    const error = await YamlSource.read(join(root, 'schema/catalog.yaml')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ line: 20 });
  });

  it('refuses a first embedded start with a broken file at once: file and line, no stack, no database, no lock', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-config-first-'));
    const result = await startBroker(embeddedEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('catalog.yaml:20:');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // A seeded start takes 10 s or more; this one never opened the database.
    expect(result.ms).toBeLessThan(8000);
    expect(await nothingLeftIn(dataDir)).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a limit out of range before any database work, naming the setting', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-config-first-'));
    const result = await startBroker({ ...embeddedEnv({ KEYHOLE_MAX_BODY_BYTES: 'lots' }), KEYHOLE_ROOT: PROJECT_ROOT });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('KEYHOLE_MAX_BODY_BYTES');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await nothingLeftIn(dataDir)).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a CLI command the same way, before it opens the embedded database', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-config-first-'));
    const error = await keyholeCli(embeddedEnv())('agents', 'list').catch((e: unknown) => e as { code: number; stderr: string });
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain('catalog.yaml:20:');
    expect(await nothingLeftIn(dataDir)).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('a start refused for a file names it as the steward opens it', () => {
  const refusedWith = async (edits: Record<string, (text: string) => string>) => {
    const root = await projectWith(edits);
    const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-config-first-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_ROOT: root, KEYHOLE_DATA_DIR: dataDir, PORT: '0' };
      delete env.DATABASE_URL;
      return await startBroker(env);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  };

  it('a schema/ field: path relative to the project, line, field and message; exit 1, no stack', async () => {
    const result = await refusedWith({ 'schema/agents.yaml': (text) => text.replace('role: support\n', 'role: nosuchrole\n') });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^keyhole: cannot start: configuration error:\nschema\/agents\.yaml:\d+: agents\.support-bot\.role: unknown role "nosuchrole"/m,
    );
    expect(result.stderr).not.toContain(tmpdir());
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a masking-rules/ field: the same', async () => {
    const result = await refusedWith({ 'masking-rules/customers.yaml': (text) => text.replace('params: { keepLast: 4 }', 'params: { keepLast: four }') });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^masking-rules\/customers\.yaml:\d+: rules\[\d+\]\.params/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('KEYHOLE_START_ON_LAST_VALID_RULES=1 with an invalid file on disk', () => {
  it('refuses while no valid version is stored, then starts on the last one stored, saying so in the log and on /readyz', async () => {
    const t = await createPostgresTestDatabase();
    const root = await projectWith();
    const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-last-valid-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KEYHOLE_ROOT: root,
      KEYHOLE_DATA_DIR: dataDir,
      DATABASE_URL: t.url,
      KEYHOLE_START_ON_LAST_VALID_RULES: '1',
    };
    const valid = await readRulesSnapshot(root);
    const file = join(root, 'masking-rules', 'customers.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('params: { keepLast: 4 }', 'params: { keepLast: four }'));
    let output = '';
    const child = { process: undefined as ReturnType<typeof spawn> | undefined };
    try {
      const refused = await startBroker({ ...env, PORT: '0' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^masking-rules\/customers\.yaml:\d+: /m);

      await migrate(t.db);
      const stored = await recordRulesVersion(t.db, new Uint8Array(32), valid);
      const port = await freePort();
      child.process = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), 'serve'], {
        env: { ...env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.process.stdout!.on('data', (chunk) => (output += chunk));
      child.process.stderr!.on('data', (chunk) => (output += chunk));
      let readiness: { status?: string; rules?: unknown } = {};
      for (let waited = 0; waited < 20_000 && readiness.status !== 'ok'; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        readiness = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.json() as Promise<typeof readiness>,
          () => ({}),
        );
      }
      expect(readiness, output).toMatchObject({
        status: 'ok',
        rules: { version: stored.id, hash: valid.hash, pending: [{ file: 'masking-rules/customers.yaml', field: expect.stringContaining('keepLast') }] },
      });
      expect(output).toMatch(/"level":50,.*serving the last valid rules version/);
    } finally {
      child.process?.kill('SIGTERM');
      if (child.process && child.process.exitCode === null) await new Promise((resolve) => child.process!.once('exit', resolve));
      await t.drop();
      await rm(root, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('agents revoke and restore', () => {
  it('answer quickly on PostgreSQL (the revocation itself is one statement)', async () => {
    await withCliWorld(async ({ keyhole }) => {
      for (const args of [
        ['agents', 'revoke', 'support-bot', '--reason', 'test'],
        ['agents', 'restore', 'support-bot'],
      ]) {
        const started = performance.now();
        await keyhole(...args);
        const ms = performance.now() - started;
        console.log(`keyhole ${args.slice(0, 2).join(' ')}: ${Math.round(ms)} ms`);
        // A whole CLI process on a shared CI machine; the bound catches the 11 s of before, not the noise.
        expect(ms).toBeLessThan(3000);
      }
    });
  });
});
