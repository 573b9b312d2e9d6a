import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearPublicMaterialCache } from '../../src/he/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

const CLI = join(PROJECT_ROOT, 'bin', 'keyhole.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('keyhole he: keygen → register → encrypt-column → broker query → decrypt, through the real CLI', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let work: string;
  let keyDir: string;
  let env: NodeJS.ProcessEnv;

  const keyhole = (args: string[], input?: string) =>
    new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env, cwd: work });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input ?? '');
    });

  const askFraudBot = async (aggregate: string, where: string) => {
    const token = await kh.token('fraud-bot', 'payroll_analytics');
    const reply = await kh.graphql(token, `{ employees_encrypted(key: "analyst", aggregate: ${aggregate}, where: ${where}) { rowCount result } }`);
    expect(reply.body.errors).toBeUndefined();
    return reply.body;
  };

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    await t.db.exec(`INSERT INTO employees (id, full_name, email, department, work_jurisdiction, salary)
      SELECT 5000 + g, 'Employee ' || g, 'e' || g || '@bank.example',
             (ARRAY['retail-banking','insurance','risk','technology','operations','compliance'])[1 + g % 6], 'SG', 20000 + (g * 131) % 300000
        FROM generate_series(1, 3000) g`);
    work = await mkdtemp(join(tmpdir(), 'keyhole-he-cli-'));
    keyDir = join(work, 'keys');
    env = { ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: join(work, 'data'), KEYHOLE_ROOT: PROJECT_ROOT };
    kh = await startTestBroker(t.db);
  });
  afterAll(async () => {
    clearPublicMaterialCache();
    await kh.close();
    await t.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('documents every he command in --help', async () => {
    const commands = ['keygen', 'register', 'encrypt-column', 'decrypt'];
    const [top, ...helps] = await Promise.all([keyhole(['he', '--help']), ...commands.map((command) => keyhole(['he', command, '--help']))]);
    expect(top!.code).toBe(0);
    commands.forEach((command, i) => {
      expect(top!.stdout).toContain(command);
      expect(helps[i]!.code).toBe(0);
      expect(helps[i]!.stdout).toContain(`Usage: keyhole he ${command}`);
    });
  });

  it('runs the key holder and steward path end to end and prints the exact total', async () => {
    const keygen = await keyhole(['he', 'keygen', '--out', keyDir]);
    expect(keygen.code, keygen.stderr).toBe(0);
    expect(keygen.stdout).toMatch(/fingerprint [0-9a-f]{64}/);
    expect(((await stat(join(keyDir, 'secret.key'))).mode & 0o777).toString(8)).toBe('600');
    expect((await readdir(keyDir)).sort()).toEqual(['galois.key', 'manifest.json', 'public.key', 'relin.key', 'secret.key']);

    // The secret key file itself, or a directory holding only a secret key, is refused.
    const onlySecret = join(work, 'only-secret');
    await mkdir(onlySecret);
    await writeFile(join(onlySecret, 'secret.key'), '');
    const [secretFile, secretDir] = await Promise.all([
      keyhole(['he', 'register', '--keys', join(keyDir, 'secret.key'), '--name', 'analyst']),
      keyhole(['he', 'register', '--keys', onlySecret, '--name', 'analyst']),
    ]);
    expect(secretFile.code).toBe(1);
    expect(secretFile.stderr).toMatch(/refusing to register .*secret\.key: it is a secret key/);
    expect(secretDir.code).toBe(1);
    expect(secretDir.stderr).toMatch(/refusing to register .* holds a secret key/);
    expect((await t.db.query('SELECT name FROM he_keys')).rows).toEqual([]);

    const register = await keyhole(['he', 'register', '--keys', keyDir, '--name', 'analyst']);
    expect(register.code, register.stderr).toBe(0);
    expect(register.stdout).toMatch(/registered key "analyst" \(bfv/);

    const encrypt = await keyhole(['he', 'encrypt-column', '--table', 'employees', '--column', 'salary', '--key', 'analyst']);
    expect(encrypt.code, encrypt.stderr).toBe(0);
    expect(encrypt.stdout).toMatch(/3002 of 3002 rows encrypted under "analyst" in 1 batches/);
    expect(encrypt.stdout).toMatch(/this run: 3002 rows in [\d.]+ s, \d+ rows\/s/);
    expect((await keyhole(['he', 'encrypt-column', '--table', 'employees', '--column', 'salary', '--key', 'analyst'])).stdout).toMatch(
      /nothing new to encrypt/,
    );

    const answer = await askFraudBot('{ op: SUM, column: salary }', '{ department: { eq: "risk" }, work_jurisdiction: { eq: "SG" } }');
    const expected = (
      await t.db.query<{ total: string }>(`SELECT sum(salary)::text AS total FROM employees WHERE department = 'risk' AND work_jurisdiction = 'SG'`)
    ).rows[0]!.total;
    // A result (~350 KB of base64) is too long for a command-line argument: it comes on stdin or in a file.
    // The whole GraphQL answer piped on stdin works too.
    const [decrypt, piped] = await Promise.all([
      keyhole(['he', 'decrypt', '--keys', keyDir, '-'], answer.data!.employees_encrypted.result),
      keyhole(['he', 'decrypt', '--keys', keyDir, '--json', '-'], JSON.stringify(answer)),
    ]);
    expect(decrypt.code, decrypt.stderr).toBe(0);
    expect(decrypt.stdout).toBe(`total: ${expected}\nexact (BFV)\n`);
    expect(JSON.parse(piped.stdout)).toEqual({ scheme: 'bfv', total: expected, count: null, mean: null });
  });

  it('prints sum, count and mean for a MEAN read from a file, and refuses a foreign result', async () => {
    const answer = await askFraudBot('{ op: MEAN, column: salary }', '{ department: { eq: "technology" }, work_jurisdiction: { eq: "SG" } }');
    const file = join(work, 'mean.txt');
    await writeFile(file, `${answer.data!.employees_encrypted.result}\n`);
    const { rows } = await t.db.query<{ total: string; n: number }>(
      `SELECT sum(salary)::text AS total, count(salary)::int AS n FROM employees WHERE department = 'technology' AND work_jurisdiction = 'SG'`,
    );
    const [decrypt, garbage] = await Promise.all([keyhole(['he', 'decrypt', '--keys', keyDir, file]), keyhole(['he', 'decrypt', '--keys', keyDir, 'AAAA'])]);
    expect(decrypt.code, decrypt.stderr).toBe(0);
    expect(decrypt.stdout).toBe(`sum: ${rows[0]!.total}\ncount: ${rows[0]!.n}\nmean: ${Number(rows[0]!.total) / rows[0]!.n}\nexact (BFV)\n`);

    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/^keyhole: .*encrypted value/);
  });
});
