import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, YamlSource } from '../../src/config/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { keyholeCli, withCliWorld } from '../support/cli.ts';
import { projectWith } from '../support/project.ts';

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
