import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BatchEncoder, CKKSEncoder } from 'node-seal';
import { type CiphertextEnvelope, decodeEnvelope, decodeResultEnvelope } from './envelope.ts';
import { HeInputError, HeKeyMismatchError, HeSecretKeyRefusedError } from './errors.ts';
import { decodeKeyBlob, encodeKeyBlob, expectKeyBlob, keyFingerprint } from './key-blob.ts';
import { type HeScheme, HE_SCHEMES, galoisSteps, getParams, hasShape } from './params.ts';
import type { PublicKeyBundle } from './public-material.ts';
import { assertSealPayload } from './seal-bytes.ts';
import { HandleScope, computing, loadingInput } from './seal.ts';

/** A whole key pair as key files; stays with the key holder. */
export interface KeyPair {
  scheme: HeScheme;
  paramsId: string;
  fingerprint: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  relinKeys: Uint8Array;
  galoisKeys: Uint8Array;
}

export interface KeyManifest {
  scheme: HeScheme;
  paramsId: string;
  created: string;
  /** Hex SHA-256 of public.key. */
  fingerprint: string;
}

export const KEY_FILES = {
  secretKey: 'secret.key',
  publicKey: 'public.key',
  relinKeys: 'relin.key',
  galoisKeys: 'galois.key',
  manifest: 'manifest.json',
} as const;

export type PublicKeyFileNames = { publicKey: string; relinKeys: string; galoisKeys: string };

/**
 * Makes a key pair. Galois keys cover power-of-two rotations only (half the size of SEAL's default
 * set, all that rotate-and-sum needs); public, relinearisation and Galois keys are written in SEAL's
 * seeded form, which halves them again.
 */
export async function generateKeys(scheme: HeScheme): Promise<KeyPair> {
  const params = await getParams(scheme);
  const { seal, context, paramsId } = params;
  const none = seal.ComprModeType.none;
  using scope = new HandleScope();
  const generator = scope.add(new seal.KeyGenerator(context));
  const blob = (kind: 'secret' | 'public' | 'relin' | 'galois', payload: Uint8Array) => encodeKeyBlob({ kind, paramsId, payload });
  const publicKey = blob('public', scope.add(generator.createPublicKeySerializable()).saveToArray(none));
  return {
    scheme,
    paramsId,
    fingerprint: keyFingerprint(publicKey),
    secretKey: blob('secret', scope.add(generator.secretKey()).saveToArray(none)),
    publicKey,
    relinKeys: blob('relin', scope.add(generator.createRelinKeysSerializable()).saveToArray(none)),
    galoisKeys: blob('galois', scope.add(generator.createGaloisKeysSerializableWithSteps(galoisSteps(scheme))).saveToArray(none)),
  };
}

/** The part of a key pair the broker may have. */
export function publicBundleOf(keys: KeyPair): PublicKeyBundle {
  return {
    scheme: keys.scheme,
    paramsId: keys.paramsId,
    fingerprint: keys.fingerprint,
    publicKey: keys.publicKey,
    relinKeys: keys.relinKeys,
    galoisKeys: keys.galoisKeys,
  };
}

/**
 * Writes a key directory: secret.key readable by its owner only (0600, directory 0700), the public
 * files, and manifest.json last so a half-written directory has no manifest. Refuses to overwrite.
 */
export async function writeKeyDirectory(dir: string, keys: KeyPair, created: Date = new Date()): Promise<KeyManifest> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const write = async (name: string, data: Uint8Array | string, mode: number) => {
    try {
      await writeFile(join(dir, name), data, { mode, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new HeInputError(`${join(dir, name)} already exists; refusing to overwrite keys`);
      throw error;
    }
    await chmod(join(dir, name), mode);
  };
  await write(KEY_FILES.secretKey, keys.secretKey, 0o600);
  await write(KEY_FILES.publicKey, keys.publicKey, 0o644);
  await write(KEY_FILES.relinKeys, keys.relinKeys, 0o644);
  await write(KEY_FILES.galoisKeys, keys.galoisKeys, 0o644);
  const manifest: KeyManifest = { scheme: keys.scheme, paramsId: keys.paramsId, created: created.toISOString(), fingerprint: keys.fingerprint };
  await write(KEY_FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  return manifest;
}

async function readKeyFile(dir: string, name: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (error) {
    throw new HeInputError(`cannot read key file ${join(dir, name)}: ${(error as Error).message}`, { cause: error });
  }
}

export async function readManifest(dir: string): Promise<KeyManifest> {
  const text = new TextDecoder().decode(await readKeyFile(dir, KEY_FILES.manifest));
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new HeInputError(`${join(dir, KEY_FILES.manifest)} is not valid JSON`, { cause: error });
  }
  const m = manifest as Partial<KeyManifest> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    !HE_SCHEMES.includes(m.scheme as HeScheme) ||
    typeof m.paramsId !== 'string' ||
    typeof m.created !== 'string' ||
    typeof m.fingerprint !== 'string' ||
    !/^[0-9a-f]{64}$/.test(m.fingerprint)
  ) {
    throw new HeInputError(`${join(dir, KEY_FILES.manifest)} lacks scheme, paramsId, created or fingerprint`);
  }
  return m as KeyManifest;
}

/**
 * Reads the public parts of a key directory, for registration with the broker. Never opens a file
 * named secret*, and refuses a secret key hiding under another name.
 */
export async function readPublicKeyDirectory(dir: string, files: PublicKeyFileNames = KEY_FILES): Promise<PublicKeyBundle> {
  for (const name of [files.publicKey, files.relinKeys, files.galoisKeys]) {
    if (basename(name) !== name) throw new HeInputError(`key file name ${JSON.stringify(name)} must be a plain file name`);
    if (name.toLowerCase().startsWith('secret')) throw new HeSecretKeyRefusedError(`refusing to read ${name}: secret key files never leave the key holder`);
  }
  const manifest = await readManifest(dir);
  const bundle: PublicKeyBundle = {
    scheme: manifest.scheme,
    paramsId: manifest.paramsId,
    fingerprint: manifest.fingerprint,
    publicKey: await readKeyFile(dir, files.publicKey),
    relinKeys: await readKeyFile(dir, files.relinKeys),
    galoisKeys: await readKeyFile(dir, files.galoisKeys),
  };
  expectKeyBlob(bundle.publicKey, 'public', manifest.paramsId, files.publicKey);
  expectKeyBlob(bundle.relinKeys, 'relin', manifest.paramsId, files.relinKeys);
  expectKeyBlob(bundle.galoisKeys, 'galois', manifest.paramsId, files.galoisKeys);
  if (keyFingerprint(bundle.publicKey) !== manifest.fingerprint)
    throw new HeKeyMismatchError(`${files.publicKey} does not match the fingerprint in the manifest`);
  return bundle;
}

export type DecryptedResult =
  | { scheme: 'bfv'; value: bigint; count?: number; mean?: number }
  /** Approximate: see `ckksErrorBound` for how far `value` may be from the exact total. */
  | { scheme: 'ckks'; value: number; count?: number; mean?: number };

const CKKS_SLOT_AGREEMENT = 2 ** 32;

export type SecretKeyMaterial = Pick<KeyPair, 'scheme' | 'paramsId' | 'fingerprint' | 'secretKey'>;

function toEnvelope(result: string | Uint8Array | CiphertextEnvelope): CiphertextEnvelope {
  if (typeof result === 'string') return decodeResultEnvelope(result);
  if (result instanceof Uint8Array) return decodeEnvelope(result);
  return result;
}

/**
 * Opens a broker result with the secret key. Refuses results made for other parameters or another
 * key pair, and checks what rotate-and-sum guarantees: every slot holds the same total (a wrong key
 * or a damaged ciphertext gives noise instead).
 */
export async function decryptWithKey(keys: SecretKeyMaterial, result: string | Uint8Array | CiphertextEnvelope): Promise<DecryptedResult> {
  const envelope = toEnvelope(result);
  if (envelope.paramsId !== keys.paramsId)
    throw new HeKeyMismatchError(`result was made under parameters ${envelope.paramsId}, this key pair uses ${keys.paramsId}`);
  if (envelope.keyFingerprint !== keys.fingerprint) throw new HeKeyMismatchError('result was encrypted for another key pair (fingerprint mismatch)');
  const params = await getParams(keys.scheme);
  const { seal, context } = params;
  const secretPayload = expectKeyBlob(keys.secretKey, 'secret', params.paramsId, 'secret key');
  assertSealPayload(secretPayload, params.maxKeyBytes, 'secret key');
  assertSealPayload(envelope.ciphertext, params.maxCiphertextBytes, 'encrypted result');
  using scope = new HandleScope();
  const secretKey = scope.add(new seal.SecretKey());
  loadingInput('secret key', () => secretKey.loadFromArray(context, secretPayload));
  const ciphertext = scope.add(new seal.Ciphertext());
  loadingInput('encrypted result', () => ciphertext.loadFromArray(context, envelope.ciphertext));
  if (!hasShape(params, ciphertext, 'result')) throw new HeInputError('encrypted result is not an aggregate result (wrong size, level or scale)');
  const decryptor = scope.add(new seal.Decryptor(context, secretKey));
  const plaintext = scope.add(new seal.Plaintext());
  const count = envelope.count;
  const withMean = <T extends object>(value: number, out: T) => (count === undefined ? out : { ...out, count, mean: count === 0 ? Number.NaN : value / count });

  if (params.scheme === 'bfv') {
    if (computing('noise budget', () => decryptor.invariantNoiseBudget(ciphertext)) <= 0) {
      throw new HeKeyMismatchError('result does not decrypt under this key (no noise budget left): wrong key or damaged ciphertext');
    }
    computing('decryption', () => decryptor.decrypt(ciphertext, plaintext));
    const slots = computing('decoding', () => (scope.add(new seal.BatchEncoder(context)) as BatchEncoder).decodeBigInt64(plaintext)) as BigInt64Array;
    const value = slots[0]!;
    if (slots.some((slot) => slot !== value)) throw new HeKeyMismatchError(`decrypted slots disagree: wrong key or damaged ciphertext`);
    return withMean(Number(value), { scheme: 'bfv' as const, value });
  }
  computing('decryption', () => decryptor.decrypt(ciphertext, plaintext));
  const slots = computing('decoding', () => (scope.add(new seal.CKKSEncoder(context)) as CKKSEncoder).decodeFloat64(plaintext)) as Float64Array;
  const value = slots[0]!;
  const spread = slots.reduce((max, slot) => Math.max(max, Math.abs(slot - value)), 0);
  // Legitimate slots differ by the CKKS error (far below 2^32); a wrong key yields values near ±2^59.
  if (!(spread <= CKKS_SLOT_AGREEMENT)) throw new HeKeyMismatchError(`decrypted slots disagree by ${spread}: wrong key or damaged ciphertext`);
  return withMean(value, { scheme: 'ckks' as const, value });
}

/**
 * The key holder's side of `keyhole he decrypt`: opens a result (base64 string, envelope bytes or
 * object) with the key directory's secret key, refusing a secret.key others can read.
 */
export async function decryptResult(keyDir: string, result: string | Uint8Array | CiphertextEnvelope): Promise<DecryptedResult> {
  const manifest = await readManifest(keyDir);
  const secretPath = join(keyDir, KEY_FILES.secretKey);
  const { mode } = await stat(secretPath).catch((error: unknown) => {
    throw new HeInputError(`cannot read ${secretPath}: ${(error as Error).message}`, { cause: error });
  });
  if ((mode & 0o077) !== 0) throw new HeInputError(`${secretPath} is accessible by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const secretKey = await readKeyFile(keyDir, KEY_FILES.secretKey);
  if (decodeKeyBlob(secretKey, KEY_FILES.secretKey).kind !== 'secret') throw new HeInputError(`${secretPath} is not a secret key`);
  return decryptWithKey({ ...manifest, secretKey }, result);
}
