import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOutcome, type KeyholeCli, keyholeCli } from '../support/cli.ts';
import { startEmbedded, stopEmbedded } from '../support/embedded-broker.ts';
import { freePort } from '../support/ports.ts';
import { projectWith } from '../support/project.ts';

/** The CLI on `dataDir` and the project at `root`, with the embedded database (no DATABASE_URL, no KEYHOLE_URL). */
function embeddedCli(dataDir: string, root: string, extra: NodeJS.ProcessEnv = {}): KeyholeCli {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: root, ...extra };
  delete env.DATABASE_URL;
  delete env.PORT;
  if (!extra.KEYHOLE_URL) delete env.KEYHOLE_URL;
  return keyholeCli(env);
}

const outcome = cliOutcome;

const kidIn = async (dataDir: string) => (JSON.parse(await readFile(join(dataDir, 'token-keys.json'), 'utf8')) as { kid: string }).kid;

/** A steward's and an agent developer's CLI beside a broker that holds data dir A, on its own copy of the project. */
describe('the CLI agrees with the running broker', () => {
  let root: string;
  let dataDir: string;
  let otherDir: string;
  let port: number;
  let url: string;
  let broker: ChildProcess | undefined;
  let keyhole: KeyholeCli;
  beforeAll(async () => {
    root = await projectWith();
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-handover-'));
    otherDir = await mkdtemp(join(tmpdir(), 'keyhole-handover-other-'));
    keyhole = embeddedCli(dataDir, root);
    await keyhole('db', 'init', '--demo', '--scale', '0.05');
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    broker = (await startEmbedded(dataDir, port, root)).process;
  }, 180_000);
  afterAll(async () => {
    if (broker) await stopEmbedded(broker);
    await Promise.all([root, dataDir, otherDir].map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('publishes the public keys it verifies tokens with, and no private member', async () => {
    const response = await fetch(`${url}/.well-known/keyhole/token-keys`);
    const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: await kidIn(dataDir), alg: 'EdDSA' }]);
  });

  it('`token` against another data dir is refused, naming both key ids and the fix', async () => {
    const result = await outcome(embeddedCli(otherDir, root, { KEYHOLE_URL: url })('token', '--agent', 'support-bot'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `the broker at ${url} (KEYHOLE_URL=${url}) verifies with "${await kidIn(dataDir)}", not with key "${await kidIn(otherDir)}"`,
    );
    expect(result.stderr).toContain("with the broker's KEYHOLE_DATA_DIR");
  });

  it('`token` on the data dir the broker holds finds it, mints, and the token works', async () => {
    const { stdout, stderr } = await keyhole('token', '--agent', 'support-bot');
    expect(stderr).toContain(`; the broker at ${url} (it holds ${dataDir}) verifies with it\n`);
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stdout.trim()}` },
      body: JSON.stringify({ query: '{ viewer { agent } }' }),
    });
    expect(await response.json()).toMatchObject({ data: { viewer: { agent: 'support-bot' } } });
  });

  it('`rules explain --k-anonymity` is answered by the broker instead of "stop it first"', async () => {
    const result = await outcome(keyhole('rules', 'explain', '--agent', 'support-bot', '--k-anonymity'));
    expect(result.stderr).not.toContain('stop it first');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^k-anonymity on .*threshold \d+/);
    expect(result.stdout).toContain('support-bot acting for');
  }, 60_000);

  it('`rules check` is silent about brokers when none runs for its data dir', async () => {
    const result = await outcome(embeddedCli(otherDir, root)('rules', 'check'));
    expect(result.stdout).toMatch(/^ok: /);
    expect(result.stdout).not.toContain('broker');
  });

  it('`rules check` names the files changed since the broker loaded them, and the problems it has pending', async () => {
    const before = await outcome(keyhole('rules', 'check'));
    expect(before.stdout).toContain(`the running broker at ${url} serves these files: rules version`);
    // The invalid edit first: every reload after it refuses the whole set, so the valid schema/ edit stays unloaded too.
    const accounts = join(root, 'masking-rules/accounts.yaml');
    await writeFile(accounts, (await readFile(accounts, 'utf8')).replace('mask: pseudonymize', 'mask: pseudonymise-please'));
    await appendFile(join(root, 'schema/catalog.yaml'), '# a note the broker has not loaded (the set it belongs to does not load)\n');
    await expect
      .poll(async () => ((await (await fetch(`${url}/readyz`)).json()) as { rules: { pending: unknown[] } }).rules.pending.length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const result = await outcome(keyhole('rules', 'check'));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`files changed since the running broker at ${url} loaded them: masking-rules/accounts.yaml, schema/catalog.yaml\n`);
    expect(result.stdout).toMatch(/the running broker has problems pending on disk .*\n {2}.*accounts\.yaml:\d+: .*pseudonymise-please/);
    const json = JSON.parse((await outcome(keyhole('rules', 'check', '--json'))).stdout) as { runningBroker: { changedFiles: string[]; pending: unknown[] } };
    expect(json.runningBroker.changedFiles).toEqual(['masking-rules/accounts.yaml', 'schema/catalog.yaml']);
  }, 60_000);
});
