import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { keyholeCli } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';

describe('the real server process over HTTP', () => {
  let t: TestDatabase;
  let dataDir: string;
  let server: ChildProcess;
  let base: string;
  let output = '';
  const env = () => ({ ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: PROJECT_ROOT });

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-http-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/keyhole.ts'), 'serve'], {
      env: { ...env(), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk) => (output += chunk));
    server.stderr!.on('data', (chunk) => (output += chunk));
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server did not start:\n${output}`);
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    await t.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz, and /graphql with a token from `keyhole token`', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', database: 'pg' });
    const { stdout } = await keyholeCli(env())('token', '--agent', 'support-bot', '--ttl', '5m');
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { agent purpose } customers(limit: 2) { id residency } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: {
        viewer: { agent: 'support-bot', purpose: 'customer_service' },
        customers: [
          { id: 1, residency: 'SG' },
          { id: 2, residency: 'EU-DE' },
        ],
      },
      // support-bot has no PIPL basis: CN customers are withheld, and the answer says so (never how many).
      extensions: { withheld: [{ table: 'customers', jurisdictions: ['CN'] }], requestId: response.headers.get('x-request-id') },
    });
  });

  it('logs one JSON line per request and never a returned value', () => {
    expect(output).toContain('"msg":"request"');
    const lines = output.trim().split('\n').filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(output).not.toContain('EU-DE');
  });
});
