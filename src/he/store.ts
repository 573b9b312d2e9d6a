import type { Db, Queryable } from '../sql/db.ts';
import { encryptBatch } from './batches.ts';
import { HeInputError, HeKeyMismatchError } from './errors.ts';
import { type HeScheme, HE_SCHEMES } from './params.ts';
import { type PublicKeyBundle, type PublicMaterial, openPublicMaterial } from './public-material.ts';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Names come from the trusted catalog; still, only plain lower-case identifiers are ever spliced in. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new HeInputError(`${JSON.stringify(name)} is not a valid table or column name`);
  return `"${name}"`;
}

// bytea travels as base64 text: PGlite's own bytea codec converts byte by byte in JS (≈10× slower).
// PostgreSQL wraps base64 output every 76 characters; Node's decoder skips the newlines.
const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const fromBase64 = (text: string): Uint8Array => Buffer.from(text, 'base64');

/**
 * Registers the public parts of a key pair under `name`. Loads them once to prove they are valid;
 * re-registering the same key is a no-op, another key under a taken name is refused.
 */
export async function registerKey(db: Queryable, name: string, bundle: PublicKeyBundle): Promise<void> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new HeInputError('a key name must be 1 to 200 characters');
  const existing = await registeredFingerprint(db, name);
  if (existing === undefined) {
    (await openPublicMaterial(bundle)).dispose();
    await db.query(
      `INSERT INTO he_keys (name, scheme, params_id, fingerprint, public_key, relin_keys, galois_keys)
       VALUES ($1, $2, $3, $4, decode($5, 'base64'), decode($6, 'base64'), decode($7, 'base64'))
       ON CONFLICT (name) DO NOTHING`,
      [name, bundle.scheme, bundle.paramsId, bundle.fingerprint, toBase64(bundle.publicKey), toBase64(bundle.relinKeys), toBase64(bundle.galoisKeys)],
    );
  }
  // Re-read: a concurrent registration of another key under the same name must not pass silently.
  if ((await registeredFingerprint(db, name)) !== bundle.fingerprint) {
    throw new HeKeyMismatchError(`key name ${JSON.stringify(name)} is already registered for another key pair`);
  }
}

async function registeredFingerprint(db: Queryable, name: string): Promise<string | undefined> {
  const { rows } = await db.query<{ fingerprint: string }>('SELECT fingerprint FROM he_keys WHERE name = $1', [name]);
  return rows[0]?.fingerprint;
}

const materialCache = new Map<string, Promise<PublicMaterial>>();

/**
 * The loaded public material of a registered key, cached per name (loading Galois keys takes ~0.1 s
 * and ~35 MB). A cached entry is reused only while the registry still holds the same fingerprint.
 */
export async function loadPublicMaterial(db: Queryable, name: string): Promise<PublicMaterial> {
  const fingerprint = await registeredFingerprint(db, name);
  if (fingerprint === undefined) throw new HeInputError(`no HE key registered as ${JSON.stringify(name)}`);
  const cached = materialCache.get(name);
  if (cached) {
    const material = await cached.catch(() => undefined);
    if (material?.fingerprint === fingerprint) return material;
    material?.dispose();
  }
  const loading = readBundle(db, name).then(openPublicMaterial);
  materialCache.set(name, loading);
  loading.catch(() => materialCache.delete(name));
  return loading;
}

async function readBundle(db: Queryable, name: string): Promise<PublicKeyBundle> {
  const { rows } = await db.query<{ scheme: string; params_id: string; fingerprint: string; public_key: string; relin_keys: string; galois_keys: string }>(
    `SELECT scheme, params_id, fingerprint, encode(public_key, 'base64') AS public_key, encode(relin_keys, 'base64') AS relin_keys,
            encode(galois_keys, 'base64') AS galois_keys
       FROM he_keys WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  if (!row) throw new HeInputError(`no HE key registered as ${JSON.stringify(name)}`);
  if (!HE_SCHEMES.includes(row.scheme as HeScheme)) throw new HeInputError(`HE key ${name} has unknown scheme ${row.scheme}`);
  return {
    scheme: row.scheme as HeScheme,
    paramsId: row.params_id,
    fingerprint: row.fingerprint,
    publicKey: fromBase64(row.public_key),
    relinKeys: fromBase64(row.relin_keys),
    galoisKeys: fromBase64(row.galois_keys),
  };
}

/** Frees every cached public material (tests, shutdown). */
export function clearPublicMaterialCache(): void {
  for (const loading of materialCache.values())
    loading.then(
      (material) => material.dispose(),
      () => {},
    );
  materialCache.clear();
}

export interface BatchLocation {
  table: string;
  column: string;
  keyName: string;
}

/** The [lower, upper] bounds every value of a batch was checked against before it was encrypted. */
export type ValueBounds = readonly [number, number];

export interface StoredBatch {
  batchNo: number;
  /** The row id of each slot, in slot order. */
  rowIds: bigint[];
  /** Envelope bytes, as `encryptBatch` made them. */
  ciphertext: Uint8Array;
}

export async function storeBatch(db: Queryable, location: BatchLocation, batch: StoredBatch, bounds: ValueBounds): Promise<void> {
  await db.query(
    `INSERT INTO he_batches (table_name, column_name, key_name, batch_no, row_ids, ciphertext, min_value, max_value)
     VALUES ($1, $2, $3, $4, string_to_array($5, ',')::bigint[], decode($6, 'base64'), $7, $8)`,
    [location.table, location.column, location.keyName, batch.batchNo, batch.rowIds.join(','), toBase64(batch.ciphertext), bounds[0], bounds[1]],
  );
}

export interface StoredColumn {
  /** Encrypted rows over every batch. */
  rows: number;
  /**
   * The largest |bound| any batch was encrypted under; undefined when a batch predates recorded bounds, so
   * nothing is known about its values.
   */
  maxAbsValue: number | undefined;
}

/** What the overflow guard may rely on for a column's stored batches; undefined when none are stored. */
export async function storedColumn(db: Queryable, location: BatchLocation): Promise<StoredColumn | undefined> {
  const { rows } = await db.query<{ batches: string; rows: string | null; unrecorded: boolean | null; max_abs: string | null }>(
    `SELECT count(*)::text AS batches, sum(cardinality(row_ids))::text AS rows,
            bool_or(min_value IS NULL OR max_value IS NULL) AS unrecorded,
            max(greatest(abs(min_value), abs(max_value)))::text AS max_abs
       FROM he_batches WHERE table_name = $1 AND column_name = $2 AND key_name = $3`,
    [location.table, location.column, location.keyName],
  );
  const row = rows[0]!;
  if (Number(row.batches) === 0) return undefined;
  return { rows: Number(row.rows), maxAbsValue: row.unrecorded ? undefined : Math.ceil(Number(row.max_abs)) };
}

/** Removes a column's stored batches under one key, so that it can be encrypted afresh. */
export async function dropStoredColumn(db: Queryable, location: BatchLocation): Promise<void> {
  await db.query('DELETE FROM he_batches WHERE table_name = $1 AND column_name = $2 AND key_name = $3', [location.table, location.column, location.keyName]);
}

const BATCHES_PER_PAGE = 8;

/** Streams the stored batches of a column in batch order, a few at a time so memory stays flat. */
export async function* streamBatches(db: Queryable, table: string, column: string, keyName: string): AsyncGenerator<StoredBatch> {
  for (let from = 0; ; from += BATCHES_PER_PAGE) {
    const { rows } = await db.query<{ batch_no: number; row_ids: string; ciphertext: string }>(
      `SELECT batch_no, array_to_string(row_ids, ',') AS row_ids, encode(ciphertext, 'base64') AS ciphertext
         FROM he_batches
        WHERE table_name = $1 AND column_name = $2 AND key_name = $3 AND batch_no >= $4 AND batch_no < $5
        ORDER BY batch_no`,
      [table, column, keyName, from, from + BATCHES_PER_PAGE],
    );
    if (rows.length === 0) return;
    for (const row of rows) {
      yield { batchNo: Number(row.batch_no), rowIds: row.row_ids === '' ? [] : row.row_ids.split(',').map(BigInt), ciphertext: fromBase64(row.ciphertext) };
    }
  }
}

export async function readBatches(db: Queryable, table: string, column: string, keyName: string): Promise<StoredBatch[]> {
  const batches: StoredBatch[] = [];
  for await (const batch of streamBatches(db, table, column, keyName)) batches.push(batch);
  return batches;
}

export interface EncryptColumnProgress {
  batches: number;
  rows: number;
}

export interface EncryptColumnOptions {
  db: Db;
  table: string;
  column: string;
  /** An integer column ordering the rows (the primary key); stored per slot. */
  idColumn: string;
  keyName: string;
  /** Every value must lie within these (the catalog's bounds); they are stored with each batch for the overflow guard. */
  bounds: ValueBounds;
  onProgress?: (progress: EncryptColumnProgress) => void;
  /** Stops between batches; a later call resumes after the last stored batch. */
  signal?: AbortSignal;
}

/**
 * Encrypts a column into the store, one ciphertext per slot-count rows in id order (NULLs skipped).
 * Resumable: it continues after the highest row id of the last stored batch, so an interrupted run
 * picks up where it stopped, assuming no rows were inserted below that id meanwhile.
 */
export async function encryptColumn(options: EncryptColumnOptions): Promise<EncryptColumnProgress> {
  const { db, table, column, idColumn, keyName, bounds } = options;
  if (!(Number.isFinite(bounds[0]) && Number.isFinite(bounds[1]) && bounds[0] <= bounds[1])) {
    throw new HeInputError(`bounds must be finite [lower, upper] with lower ≤ upper, got [${bounds.join(', ')}]`);
  }
  const [qTable, qColumn, qId] = [quoteIdentifier(table), quoteIdentifier(column), quoteIdentifier(idColumn)];
  const material = await loadPublicMaterial(db, keyName);
  const location = { table, column, keyName };
  const { rows: last } = await db.query<{ batch_no: number; last_id: string; stored_rows: string }>(
    `SELECT batch_no, row_ids[cardinality(row_ids)]::text AS last_id,
            (SELECT sum(cardinality(row_ids)) FROM he_batches
              WHERE table_name = $1 AND column_name = $2 AND key_name = $3)::text AS stored_rows
       FROM he_batches WHERE table_name = $1 AND column_name = $2 AND key_name = $3
      ORDER BY batch_no DESC LIMIT 1`,
    [table, column, keyName],
  );
  let batchNo = last[0] ? Number(last[0].batch_no) + 1 : 0;
  let afterId: string | null = last[0]?.last_id ?? null;
  const progress = { batches: batchNo, rows: Number(last[0]?.stored_rows ?? 0) };
  const read =
    material.scheme === 'bfv'
      ? `SELECT ${qId}::int8::text AS row_id, ${qColumn}::numeric::text AS row_value`
      : `SELECT ${qId}::int8::text AS row_id, ${qColumn}::float8 AS row_value`;
  for (;;) {
    options.signal?.throwIfAborted();
    // Aliases differ from every column name, so ORDER BY sorts by the integer column, not its text.
    const { rows } = await db.query<{ row_id: string; row_value: string | number }>(
      `${read} FROM ${qTable} WHERE ${qColumn} IS NOT NULL AND ($1::int8 IS NULL OR ${qId} > $1::int8) ORDER BY ${qTable}.${qId} LIMIT $2`,
      [afterId, material.slotCount],
    );
    if (rows.length === 0) return progress;
    const values = rows.map((row) => withinBounds(parseValue(material.scheme, row.row_value, row.row_id, column), bounds, row.row_id, column));
    const rowIds = rows.map((row) => BigInt(row.row_id));
    await storeBatch(db, location, { batchNo, rowIds, ciphertext: encryptBatch(material, values as bigint[] | number[]) }, bounds);
    afterId = rows.at(-1)!.row_id;
    batchNo += 1;
    progress.batches = batchNo;
    progress.rows += rows.length;
    options.onProgress?.({ ...progress });
  }
}

/** The bounds stored with a batch must hold for every value in it: the overflow guard's proof rests on them. */
function withinBounds(value: bigint | number, bounds: ValueBounds, id: string, column: string): bigint | number {
  if (Number(value) < bounds[0] || Number(value) > bounds[1]) {
    throw new HeInputError(`${column} of row ${id} is ${value}, outside the bounds [${bounds.join(', ')}] it is encrypted under`);
  }
  return value;
}

function parseValue(scheme: HeScheme, value: string | number, id: string, column: string): bigint | number {
  if (scheme === 'ckks') return Number(value);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
    throw new HeInputError(`${column} of row ${id} is ${value}: BFV encrypts integers only (scale the column to an integer unit first)`);
  }
  return BigInt(value);
}
