import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  BFV_MAX_SAFE_TOTAL,
  BFV_PLAIN_MODULUS,
  CKKS_ABS_ERROR_PER_BATCH,
  CKKS_RELATIVE_ERROR,
  type DecryptedResult,
  HE_SCHEMES,
  type HeScheme,
  HeSecretKeyRefusedError,
  KEY_FILES,
  type PublicKeyBundle,
  decryptResult,
  dropStoredColumn,
  encryptColumn,
  generateKeys,
  readPublicKeyDirectory,
  registerKey,
  writeKeyDirectory,
} from '../he/index.ts';
import { decodeKeyBlob } from '../he/key-blob.ts';
import { CKKS_COEFF_BITS, POLY_MODULUS_DEGREE } from '../he/params.ts';
import { ident, type Queryable } from '../sql/index.ts';
import { CliError, withContext } from './context.ts';
import { progressBar } from './progress.ts';
import { stdout } from './output.ts';

const PARAMETERS: Record<HeScheme, string> = {
  bfv: `BFV, N=${POLY_MODULUS_DEGREE}, SEAL's 128-bit default coefficient modulus, plain modulus t=${BFV_PLAIN_MODULUS} (40-bit, batching): exact integer totals up to ±${BFV_MAX_SAFE_TOTAL}`,
  ckks: `CKKS, N=${POLY_MODULUS_DEGREE}, coefficient modulus bits [${CKKS_COEFF_BITS.join(', ')}], scale 2^40, 128-bit security: approximate reals (error ≤ ${CKKS_RELATIVE_ERROR}·√rows·max|value| + ${CKKS_ABS_ERROR_PER_BATCH} per 4096 rows)`,
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Refuses anything but a key directory with public key files: a secret key file given as `--keys`, or a
 * directory holding a secret key without its public parts, is refused before anything is read further.
 */
async function publicBundleAt(keysPath: string): Promise<PublicKeyBundle> {
  const path = resolve(keysPath);
  const info = await stat(path).catch(() => {
    throw new CliError(`${path} does not exist (make keys with \`keyhole he keygen --out DIR\`)`);
  });
  if (info.isFile()) {
    const blob = await readFile(path).then(
      (bytes) => decodeKeyBlob(new Uint8Array(bytes), path),
      () => undefined,
    );
    if (blob?.kind === 'secret') throw new HeSecretKeyRefusedError(`refusing to register ${path}: it is a secret key, which never leaves the key holder`);
    throw new CliError(`--keys takes the key directory that \`keyhole he keygen --out\` made, not the file ${path}`);
  }
  const present = async (name: string) => (await stat(join(path, name)).catch(() => null))?.isFile() ?? false;
  if (!(await present(KEY_FILES.publicKey)) && (await present(KEY_FILES.secretKey))) {
    throw new HeSecretKeyRefusedError(`refusing to register ${path}: it holds a secret key but no ${KEY_FILES.publicKey}; only public keys are uploaded`);
  }
  return readPublicKeyDirectory(path);
}

/** `keyhole he register`: uploads the public parts of a key directory to the registry under `name`. */
export async function registerKeyDirectory(db: Queryable, keysPath: string, name: string): Promise<PublicKeyBundle> {
  const bundle = await publicBundleAt(keysPath);
  await registerKey(db, name, bundle);
  return bundle;
}

/** A broker answer as given to `he decrypt`: the base64 envelope, its binary form, or the GraphQL JSON answer. */
export function resultFromText(input: Uint8Array): string | Uint8Array {
  if (Buffer.from(input.subarray(0, 4)).toString('latin1') === 'KHC1') return input;
  const text = Buffer.from(input).toString('utf8').trim();
  if (!text.startsWith('{')) return text;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new CliError('the input starts with "{" but is not valid JSON');
  }
  const found = findResult(answer);
  if (found === undefined) throw new CliError('the JSON holds no "result" string (a COUNT answer is plain: read its rowCount)');
  return found;
}

function findResult(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!Array.isArray(value) && typeof (value as Record<string, unknown>).result === 'string') return (value as Record<string, string>).result;
  for (const child of Object.values(value)) {
    const found = findResult(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function readResult(argument: string): Promise<string | Uint8Array> {
  if (argument === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return resultFromText(new Uint8Array(Buffer.concat(chunks)));
  }
  const info = await stat(argument).catch(() => null);
  if (info?.isFile()) return resultFromText(new Uint8Array(await readFile(argument)));
  return resultFromText(new Uint8Array(Buffer.from(argument)));
}

/** The decrypted number as the CLI prints it: the total, or sum, count and mean for a MEAN. */
export function formatDecrypted(result: DecryptedResult): string {
  const note =
    result.scheme === 'bfv'
      ? 'exact (BFV)'
      : `approximate (CKKS): within the answer's "precision" of the exact total (≤ ${CKKS_RELATIVE_ERROR}·√rows·max|value| + ${CKKS_ABS_ERROR_PER_BATCH} per 4096 rows)`;
  if (result.count === undefined) return `total: ${result.value}\n${note}\n`;
  return `sum: ${result.value}\ncount: ${result.count}\nmean: ${result.mean}\n${note}\n`;
}

function jsonOf(result: DecryptedResult): string {
  return `${JSON.stringify({ scheme: result.scheme, total: String(result.value), count: result.count ?? null, mean: result.mean ?? null })}\n`;
}

export function registerHeCommands(program: Command): void {
  const he = program
    .command('he')
    .description('Homomorphic encryption: key holder keys, the encrypted column store, and opening encrypted results')
    .addHelpText(
      'after',
      '\nKey holder: he keygen, he register, he decrypt. Steward: he encrypt-column. The broker only ever gets public keys.\n' +
        'With the embedded database run register and encrypt-column before `npm start` (the broker holds its lock), or use DATABASE_URL.',
    );

  he.command('keygen')
    .description('Make a SEAL key pair in DIR: secret.key (0600, stays here) and the public, relinearisation and Galois keys')
    .requiredOption('--out <dir>', 'directory to create (refuses to overwrite existing keys)')
    .option('--scheme <scheme>', 'bfv (exact integers) or ckks (approximate reals)', 'bfv')
    .addHelpText('after', `\nParameters:\n  ${PARAMETERS.bfv}\n  ${PARAMETERS.ckks}`)
    .action(async (options: { out: string; scheme: string }) => {
      if (!HE_SCHEMES.includes(options.scheme as HeScheme)) throw new CliError(`--scheme must be bfv or ckks, got "${options.scheme}"`);
      const scheme = options.scheme as HeScheme;
      const started = performance.now();
      const keys = await generateKeys(scheme);
      const dir = resolve(options.out);
      await writeKeyDirectory(dir, keys);
      const size = (bytes: Uint8Array) => mib(bytes.length);
      stdout().write(
        `keys in ${dir} (${((performance.now() - started) / 1000).toFixed(1)} s)\n` +
          `  ${PARAMETERS[scheme]}\n` +
          `  parameters ${keys.paramsId}, fingerprint ${keys.fingerprint}\n` +
          `  ${KEY_FILES.secretKey}  ${size(keys.secretKey)}  mode 0600: keep it here, never give it to the broker\n` +
          `  ${KEY_FILES.publicKey}  ${size(keys.publicKey)}, ${KEY_FILES.relinKeys}  ${size(keys.relinKeys)}, ${KEY_FILES.galoisKeys}  ${size(keys.galoisKeys)}: public\n` +
          `next: keyhole he register --keys ${options.out} --name NAME\n`,
      );
    });

  he.command('register')
    .description("Upload the public parts of a key directory to the broker's key registry (never the secret key)")
    .requiredOption('--keys <dir>', 'key directory made by `he keygen`')
    .requiredOption('--name <name>', 'name agents use to ask for results under this key')
    .addHelpText('after', '\nUses DATABASE_URL when set, else the embedded database under KEYHOLE_DATA_DIR (stop the broker first).')
    .action(async (options: { keys: string; name: string }) => {
      // Checked before the database is opened: a secret key is refused without touching anything.
      const bundle = await publicBundleAt(options.keys);
      await withContext('he register', async ({ db, where }) => {
        await registerKey(db, options.name, bundle);
        const bytes = bundle.publicKey.length + bundle.relinKeys.length + bundle.galoisKeys.length;
        stdout().write(
          `registered key "${options.name}" (${bundle.scheme}, fingerprint ${bundle.fingerprint.slice(0, 16)}…) in ${where}: public, relinearisation and Galois keys, ${mib(bytes)}; no secret key was read\n`,
        );
      });
    });

  he.command('encrypt-column')
    .description('Encrypt a catalog column marked `encrypted` into the encrypted column store (resumable)')
    .requiredOption('--table <table>', 'catalog table, e.g. employees')
    .requiredOption('--column <column>', 'column marked encrypted in schema/catalog.yaml, e.g. salary')
    .requiredOption('--key <name>', 'registered key name (`he register`)')
    .option('--fresh', 'drop the batches stored under this key first and encrypt every row again (after changing bounds)')
    .addHelpText('after', '\nInterrupted (Ctrl-C)? Run the same command again: it resumes after the last stored batch.')
    .action(async (options: { table: string; column: string; key: string; fresh?: boolean }) => {
      await withContext('he encrypt-column', async ({ config, db, where }) => {
        const table = config.catalog.tables.get(options.table);
        const column = table?.columns.get(options.column);
        if (!table || !column) throw new CliError(`${options.table}.${options.column} is not in the catalog`);
        if (!column.encrypted) throw new CliError(`${table.name}.${column.name} is not marked encrypted in the catalog (add encrypted: { scheme, plaintext })`);
        if (column.encrypted.plaintext === 'absent')
          throw new CliError(`the catalog says ${table.name}.${column.name} has no plaintext in this database; nothing to encrypt here`);
        const { rows: keys } = await db.query<{ scheme: string }>('SELECT scheme FROM he_keys WHERE name = $1', [options.key]);
        if (!keys[0]) throw new CliError(`no key registered as "${options.key}" (run \`keyhole he register\` first)`);
        if (keys[0].scheme !== column.encrypted.scheme) {
          throw new CliError(
            `${table.name}.${column.name} is declared ${column.encrypted.scheme} in the catalog, but key "${options.key}" is ${keys[0].scheme}`,
          );
        }
        // Each batch records the bounds it was encrypted under: the overflow guard relies on nothing else.
        const bounds = column.bounds;
        if (!bounds) throw new CliError(`${table.name}.${column.name} declares no bounds in the catalog; encrypted sums over it could not be proven exact`);
        const [qTable, qColumn] = [ident(table.name), ident(column.name)];
        const { rows } = await db.query<{ total: string; outside: string }>(
          `SELECT count(${qColumn})::text AS total, count(*) FILTER (WHERE ${qColumn} < $1 OR ${qColumn} > $2)::text AS outside FROM ${qTable}`,
          [bounds[0], bounds[1]],
        );
        const total = Number(rows[0]!.total);
        // Overflow refusals rest on the declared bounds, so values beyond them must never be encrypted.
        if (Number(rows[0]!.outside) > 0) {
          throw new CliError(`${rows[0]!.outside} values of ${table.name}.${column.name} lie outside its declared bounds [${bounds.join(', ')}]`);
        }
        if (options.fresh) await dropStoredColumn(db, { table: table.name, column: column.name, keyName: options.key });
        const location = [table.name, column.name, options.key];
        const { rows: stored } = await db.query<{ rows: string }>(
          'SELECT coalesce(sum(cardinality(row_ids)), 0)::text AS rows FROM he_batches WHERE table_name = $1 AND column_name = $2 AND key_name = $3',
          location,
        );
        const before = Number(stored[0]!.rows);
        const controller = new AbortController();
        const interrupt = () => controller.abort();
        process.once('SIGINT', interrupt);
        const bar = progressBar(`encrypting ${table.name}.${column.name}`);
        const started = performance.now();
        let last = { batches: 0, rows: before };
        try {
          const done = await encryptColumn({
            db,
            table: table.name,
            column: column.name,
            idColumn: table.primaryKey,
            keyName: options.key,
            bounds,
            signal: controller.signal,
            onProgress: (progress) => {
              last = progress;
              bar.update(progress.rows, total);
            },
          });
          bar.stop();
          const fresh = done.rows - before;
          const seconds = (performance.now() - started) / 1000;
          stdout().write(
            `${table.name}.${column.name}: ${done.rows} of ${total} rows encrypted under "${options.key}" in ${done.batches} batches (${where})\n` +
              (fresh > 0 ? `this run: ${fresh} rows in ${seconds.toFixed(1)} s, ${Math.round(fresh / seconds)} rows/s\n` : 'nothing new to encrypt\n'),
          );
        } catch (error) {
          bar.stop();
          if (controller.signal.aborted)
            throw new CliError(`interrupted after ${last.batches} batches (${last.rows} rows); run the same command again to resume`, 130);
          throw error;
        } finally {
          process.removeListener('SIGINT', interrupt);
        }
      });
    });

  he.command('decrypt')
    .description("Open a result the broker returned, with the key directory's secret key, and print the number")
    .requiredOption('--keys <dir>', 'key directory made by `he keygen` (holding secret.key)')
    .argument('<result>', 'the base64 "result" string, a file holding it (or the whole GraphQL answer), or - for stdin')
    .option('--json', 'print {"scheme","total","count","mean"} as JSON')
    .action(async (result: string, options: { keys: string; json?: boolean }) => {
      const decrypted = await decryptResult(resolve(options.keys), await readResult(result));
      stdout().write(options.json ? jsonOf(decrypted) : formatDecrypted(decrypted));
    });
}
