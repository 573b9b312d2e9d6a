import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchInput,
  HeError,
  HeInputError,
  HeKeyMismatchError,
  HeSecretKeyRefusedError,
  type KeyPair,
  type PublicMaterial,
  addEncryptedNoise,
  decryptResult,
  decryptWithKey,
  encodeEnvelope,
  encodeResultEnvelope,
  encryptBatch,
  encryptedMean,
  encryptedSum,
  generateKeys,
  openPublicMaterial,
  publicBundleOf,
  readPublicKeyDirectory,
  writeKeyDirectory,
} from '../../src/he/index.ts';
import { decodeEnvelope } from '../../src/he/envelope.ts';

const SLOTS = 8192;
/** Deterministic data: 2.5 batches of signed integers, so the last batch is partly padding. */
const values = Array.from({ length: 2 * SLOTS + 4000 }, (_, i) => BigInt(((i * 7919) % 20001) - 10000));
const mask = values.map((_, i) => (i % 7 === 0 || i % 11 === 3 ? 1 : 0));
const weights = values.map((_, i) => BigInt((i % 13) - 6));

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += SLOTS) out.push(items.slice(i, i + SLOTS));
  return out;
}

let keys: KeyPair;
let otherKeys: KeyPair;
let material: PublicMaterial;
let otherMaterial: PublicMaterial;
let stored: Uint8Array[];

beforeAll(async () => {
  keys = await generateKeys('bfv');
  otherKeys = await generateKeys('bfv');
  material = await openPublicMaterial(publicBundleOf(keys));
  otherMaterial = await openPublicMaterial(publicBundleOf(otherKeys));
  stored = chunks(values).map((chunk) => encryptBatch(material, chunk));
});

afterAll(() => {
  material.dispose();
  otherMaterial.dispose();
});

function batchesWith(extra: (index: number, rows: number) => Omit<BatchInput, 'ciphertext'>): BatchInput[] {
  return stored.map((ciphertext, b) => ({
    ciphertext,
    rowCount: Math.min(SLOTS, values.length - b * SLOTS),
    ...extra(b * SLOTS, Math.min(SLOTS, values.length - b * SLOTS)),
  }));
}

describe('BFV encrypted aggregates decrypt to the exact plaintext answer', () => {
  it('SUM without a filter', async () => {
    const result = await encryptedSum(
      material,
      batchesWith(() => ({})),
    );
    expect((await decryptWithKey(keys, result)).value).toBe(values.reduce((a, b) => a + b, 0n));
  });

  it('filtered SUM (0/1 mask), skipping an all-zero batch and taking an all-ones one as is', async () => {
    const maskFor = (start: number, rows: number) =>
      start === 0 ? new Array(rows).fill(0) : start === SLOTS ? new Array(rows).fill(1) : mask.slice(start, start + rows);
    const result = await encryptedSum(
      material,
      batchesWith((start, rows) => ({ mask: maskFor(start, rows) })),
    );
    const expected = values.reduce((sum, v, i) => sum + (maskFor(Math.floor(i / SLOTS) * SLOTS, SLOTS)[i % SLOTS] ? v : 0n), 0n);
    expect(expected).not.toBe(0n);
    expect((await decryptWithKey(keys, result)).value).toBe(expected);
  });

  it('weighted, filtered SUM', async () => {
    const result = await encryptedSum(
      material,
      batchesWith((start, rows) => ({ mask: mask.slice(start, start + rows), weights: weights.slice(start, start + rows) })),
    );
    const expected = values.reduce((sum, v, i) => sum + (mask[i] ? v * weights[i]! : 0n), 0n);
    expect((await decryptWithKey(keys, result)).value).toBe(expected);
  });

  it('COUNT and MEAN: the public count travels with the encrypted sum', async () => {
    const result = await encryptedMean(
      material,
      batchesWith((start, rows) => ({ mask: mask.slice(start, start + rows) })),
    );
    const selected = values.filter((_, i) => mask[i] === 1);
    const sum = selected.reduce((a, b) => a + b, 0n);
    const decrypted = await decryptWithKey(keys, encodeResultEnvelope(result));
    expect(decrypted).toEqual({ scheme: 'bfv', value: sum, count: selected.length, mean: Number(sum) / selected.length });
  });

  it('an empty selection is an encryption of 0, and noise is added to the total', async () => {
    const empty = await encryptedSum(
      material,
      batchesWith((_, rows) => ({ mask: new Array(rows).fill(0) })),
    );
    expect((await decryptWithKey(keys, empty)).value).toBe(0n);
    const noisy = addEncryptedNoise(
      material,
      await encryptedSum(
        material,
        batchesWith(() => ({})),
      ),
      -1234n,
    );
    expect((await decryptWithKey(keys, noisy)).value).toBe(values.reduce((a, b) => a + b, 0n) - 1234n);
  });

  it('the result is switched down to 2 primes: half the size of a stored batch', async () => {
    const result = await encryptedSum(
      material,
      batchesWith(() => ({})),
    );
    expect(result.ciphertext.length).toBeLessThan(decodeEnvelope(stored[0]!).ciphertext.length * 0.51);
  });

  it('refuses values and masks it cannot represent', async () => {
    expect(() => encryptBatch(material, [1.5])).toThrow(HeInputError);
    expect(() => encryptBatch(material, [1n << 40n])).toThrow(HeInputError);
    expect(() => encryptBatch(material, new Array(SLOTS + 1).fill(0n))).toThrow(HeInputError);
    await expect(encryptedSum(material, [{ ciphertext: stored[0]!, mask: [2] }])).rejects.toThrow(HeInputError);
  });
});

describe('foreign, wrong-key and tampered input', () => {
  it('refuses a batch encrypted under another key pair, naming the mismatch', async () => {
    const foreign = encryptBatch(otherMaterial, [1n, 2n]);
    await expect(encryptedSum(material, [{ ciphertext: stored[0]! }, { ciphertext: foreign }])).rejects.toThrow(HeKeyMismatchError);
  });

  it('refuses to decrypt a result for another key pair, by fingerprint', async () => {
    const result = await encryptedSum(material, [{ ciphertext: stored[0]! }]);
    await expect(decryptWithKey(otherKeys, result)).rejects.toThrow(/fingerprint/);
  });

  it('detects a wrong key even when the label is forged to match', async () => {
    const result = await encryptedSum(material, [{ ciphertext: stored[0]! }]);
    const forged = { ...result, keyFingerprint: otherKeys.fingerprint };
    await expect(decryptWithKey(otherKeys, forged)).rejects.toThrow(HeKeyMismatchError);
  });

  it('refuses flipped, truncated and garbage bytes with HeInputError, and keeps working afterwards', async () => {
    const original = stored[0]!;
    const flipped = (offset: number) => {
      const tampered = original.slice();
      tampered[offset]! ^= 0xff;
      return [{ ciphertext: tampered }];
    };
    for (const offset of [0, 4, 100, 5000, original.length - 1]) {
      await expect(encryptedSum(material, flipped(offset))).rejects.toThrow(HeInputError);
    }
    // Bytes 5–36 are the key fingerprint label: a change there reads as another key's batch.
    await expect(encryptedSum(material, flipped(10))).rejects.toThrow(HeKeyMismatchError);
    await expect(encryptedSum(material, [{ ciphertext: original.subarray(0, 1000) }])).rejects.toThrow(HeInputError);
    await expect(encryptedSum(material, [{ ciphertext: new Uint8Array(600_000) }])).rejects.toThrow(HeInputError);
    const result = await encryptedSum(material, [{ ciphertext: original }]);
    expect((await decryptWithKey(keys, result)).value).toBe(values.slice(0, SLOTS).reduce((a, b) => a + b, 0n));
  });

  it('refuses SEAL payloads altered behind a valid envelope (as a forger would)', async () => {
    const envelope = decodeEnvelope(stored[0]!);
    const rewrap = (ciphertext: Uint8Array) => encodeEnvelope({ ...envelope, ciphertext });
    const truncated = envelope.ciphertext.slice(0, envelope.ciphertext.length - 8);
    const badHeader = envelope.ciphertext.slice();
    badHeader[5] = 2; // claims zstd compression
    const lowerLevel = (await encryptedSum(material, [{ ciphertext: stored[0]! }])).ciphertext;
    for (const payload of [truncated, badHeader, lowerLevel]) {
      await expect(encryptedSum(material, [{ ciphertext: rewrap(payload) }])).rejects.toThrow(HeInputError);
    }
    // A coefficient out of range for its prime is caught by SEAL's own validation.
    const outOfRange = envelope.ciphertext.slice();
    outOfRange.fill(0xff, outOfRange.length - 64);
    await expect(encryptedSum(material, [{ ciphertext: rewrap(outOfRange) }])).rejects.toThrow(/rejected by SEAL/);
    // In-range edits are indistinguishable from a ciphertext (HE is malleable by design); they must
    // still end in a result or a clean refusal, never a crash.
    const garbled = envelope.ciphertext.slice();
    garbled.fill(0, 1000, 2000);
    const outcome = await encryptedSum(material, [{ ciphertext: rewrap(garbled) }])
      .then((result) => decryptWithKey(keys, result))
      .then(
        () => 'decrypted',
        (error: unknown) => (error instanceof HeError ? 'refused' : error),
      );
    expect(['decrypted', 'refused']).toContain(outcome);
  });

  it('refuses a CKKS ciphertext given to BFV material', async () => {
    const ckksKeys = await generateKeys('ckks');
    const ckks = await openPublicMaterial(publicBundleOf(ckksKeys));
    try {
      await expect(encryptedSum(material, [{ ciphertext: encryptBatch(ckks, [1.5]) }])).rejects.toThrow(/parameters ckks-/);
    } finally {
      ckks.dispose();
    }
  });
});

describe('the broker cannot be given a secret key', () => {
  it('refuses a whole key pair, or a secret key passed off as a public one', async () => {
    await expect(openPublicMaterial(keys as never)).rejects.toThrow(HeSecretKeyRefusedError);
    await expect(openPublicMaterial({ ...publicBundleOf(keys), publicKey: keys.secretKey })).rejects.toThrow(HeSecretKeyRefusedError);
    await expect(openPublicMaterial({ ...publicBundleOf(keys), galoisKeys: keys.secretKey })).rejects.toThrow(HeSecretKeyRefusedError);
    await expect(encryptedSum(keys as never, [])).rejects.toThrow(HeSecretKeyRefusedError);
    expect(() => encryptBatch(keys as never, [1n])).toThrow(HeSecretKeyRefusedError);
  });

  it('refuses public files that do not match the bundle', async () => {
    await expect(openPublicMaterial({ ...publicBundleOf(keys), publicKey: otherKeys.publicKey })).rejects.toThrow(/fingerprint/);
    await expect(openPublicMaterial({ ...publicBundleOf(keys), relinKeys: keys.galoisKeys })).rejects.toThrow(/galois key, expected a relin key/);
  });
});

describe('key directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'keyhole-he-')), 'keys');
    await writeKeyDirectory(dir, keys);
  });
  afterAll(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('writes the secret key 0600 next to public files and a manifest with the fingerprint', async () => {
    expect((await readdir(dir)).sort()).toEqual(['galois.key', 'manifest.json', 'public.key', 'relin.key', 'secret.key']);
    expect((await stat(join(dir, 'secret.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await expect(writeKeyDirectory(dir, keys)).rejects.toThrow(/refusing to overwrite/);
  });

  it('hands out only the public parts, and never a file named secret*', async () => {
    const bundle = await readPublicKeyDirectory(dir);
    const expected = publicBundleOf(keys);
    expect(Object.keys(bundle).sort()).toEqual(Object.keys(expected).sort());
    for (const field of ['publicKey', 'relinKeys', 'galoisKeys'] as const) expect(Buffer.compare(bundle[field], expected[field])).toBe(0);
    expect([bundle.scheme, bundle.paramsId, bundle.fingerprint]).toEqual([expected.scheme, expected.paramsId, expected.fingerprint]);
    expect('secretKey' in bundle).toBe(false);
    await expect(readPublicKeyDirectory(dir, { publicKey: 'secret.key', relinKeys: 'relin.key', galoisKeys: 'galois.key' })).rejects.toThrow(
      HeSecretKeyRefusedError,
    );
    await expect(readPublicKeyDirectory(dir, { publicKey: 'public.key', relinKeys: 'SECRET.key', galoisKeys: 'galois.key' })).rejects.toThrow(
      HeSecretKeyRefusedError,
    );
    await expect(readPublicKeyDirectory(dir, { publicKey: '../keys/secret.key', relinKeys: 'relin.key', galoisKeys: 'galois.key' })).rejects.toThrow(
      HeInputError,
    );
  });

  it('decrypts a base64 result from the directory, and refuses a world-readable secret key', async () => {
    const result = encodeResultEnvelope(await encryptedSum(material, [{ ciphertext: stored[1]! }]));
    expect((await decryptResult(dir, result)).value).toBe(values.slice(SLOTS, 2 * SLOTS).reduce((a, b) => a + b, 0n));
    const leaky = join(dir, '..', 'leaky');
    await writeKeyDirectory(leaky, keys);
    await writeFile(join(leaky, 'secret.key'), keys.secretKey, { mode: 0o644 });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(leaky, 'secret.key'), 0o644);
    await expect(decryptResult(leaky, result)).rejects.toThrow(/chmod 600/);
  });
});
