import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeInputError,
  HeKeyMismatchError,
  type KeyPair,
  type PublicMaterial,
  addEncryptedNoise,
  ckksErrorBound,
  decryptWithKey,
  encryptBatch,
  encryptedMean,
  encryptedSum,
  generateKeys,
  openPublicMaterial,
  publicBundleOf,
} from '../../src/he/index.ts';

const SLOTS = 4096;
/** 5 batches of reals in (−1e6, 1e6), deterministic. */
const values = Array.from({ length: 5 * SLOTS - 123 }, (_, i) => Math.sin(i * 12.9898) * 1e6);
const mask = values.map((_, i) => (Math.cos(i * 78.233) > 0 ? 1 : 0));

let keys: KeyPair;
let material: PublicMaterial;
let stored: Uint8Array[];

beforeAll(async () => {
  keys = await generateKeys('ckks');
  material = await openPublicMaterial(publicBundleOf(keys));
  stored = [];
  for (let i = 0; i < values.length; i += SLOTS) stored.push(encryptBatch(material, values.slice(i, i + SLOTS)));
});

afterAll(() => material.dispose());

const bound = ckksErrorBound(1e6, values.length);

describe('CKKS encrypted aggregates', () => {
  it('states a bound that is tight enough to be useful', () => {
    // A wrong implementation (e.g. a dropped batch) is off by ~1e8; the bound must be far below that.
    expect(bound).toBeLessThan(1);
  });

  it('SUM is within the documented error', async () => {
    const decrypted = await decryptWithKey(
      keys,
      await encryptedSum(
        material,
        stored.map((ciphertext) => ({ ciphertext })),
      ),
    );
    expect(Math.abs((decrypted.value as number) - values.reduce((a, b) => a + b, 0))).toBeLessThanOrEqual(bound);
  });

  it('filtered MEAN is within the documented error, with the exact count', async () => {
    const batches = stored.map((ciphertext, b) => ({
      ciphertext,
      rowCount: Math.min(SLOTS, values.length - b * SLOTS),
      mask: mask.slice(b * SLOTS, (b + 1) * SLOTS),
    }));
    const decrypted = await decryptWithKey(keys, addEncryptedNoise(material, await encryptedMean(material, batches), 0.5));
    const selected = values.filter((_, i) => mask[i] === 1);
    const sum = selected.reduce((a, b) => a + b, 0) + 0.5;
    expect(decrypted.count).toBe(selected.length);
    expect(Math.abs((decrypted.value as number) - sum)).toBeLessThanOrEqual(bound);
    expect(Math.abs(decrypted.mean! - sum / selected.length)).toBeLessThanOrEqual(bound / selected.length);
  });

  it('weighted SUM with real weights is within the documented error', async () => {
    const weights = values.map((_, i) => (i % 5) / 4);
    const batches = stored.map((ciphertext, b) => ({ ciphertext, weights: weights.slice(b * SLOTS, (b + 1) * SLOTS) }));
    const decrypted = await decryptWithKey(keys, await encryptedSum(material, batches));
    const expected = values.reduce((sum, v, i) => sum + v * weights[i]!, 0);
    expect(Math.abs((decrypted.value as number) - expected)).toBeLessThanOrEqual(bound);
  });

  it('refuses non-finite values, and a result decrypted with another key pair', async () => {
    expect(() => encryptBatch(material, [Number.NaN])).toThrow(HeInputError);
    const other = await generateKeys('ckks');
    const result = await encryptedSum(material, [{ ciphertext: stored[0]! }]);
    await expect(decryptWithKey(other, result)).rejects.toThrow(/fingerprint/);
    await expect(decryptWithKey(other, { ...result, keyFingerprint: other.fingerprint })).rejects.toThrow(HeKeyMismatchError);
  });
});
