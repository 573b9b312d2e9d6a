import { describe, expect, it } from 'vitest';
import {
  BFV_MAX_SAFE_TOTAL,
  BFV_PLAIN_MODULUS,
  HeInputError,
  HeOverflowError,
  assertNoOverflow,
  decodeEnvelope,
  decodeResultEnvelope,
  encodeEnvelope,
  encodeResultEnvelope,
  getParams,
} from '../../src/he/index.ts';

describe('BFV overflow bound', () => {
  it('is half the plain modulus, which is a batching prime of 40 bits', () => {
    expect(BFV_PLAIN_MODULUS.toString(2)).toHaveLength(40);
    expect(BFV_PLAIN_MODULUS % (2n * 8192n)).toBe(1n);
    expect(BFV_MAX_SAFE_TOTAL).toBe(549_755_740_160n);
  });

  it('accepts a worst case exactly at the bound and refuses one past it', () => {
    expect(() => assertNoOverflow({ maxAbsValue: BFV_MAX_SAFE_TOTAL, rows: 1 })).not.toThrow();
    expect(() => assertNoOverflow({ maxAbsValue: BFV_MAX_SAFE_TOTAL, rows: 1, noiseMaxAbs: 1 })).toThrow(HeOverflowError);
    expect(() => assertNoOverflow({ maxAbsValue: 549_755, rows: 1_000_000 })).not.toThrow();
    expect(() => assertNoOverflow({ maxAbsValue: 549_756, rows: 1_000_000 })).toThrow(/could reach 549756000000/);
  });

  it('multiplies in the weights bound and rejects nonsense bounds', () => {
    expect(() => assertNoOverflow({ maxAbsValue: 1000, rows: 1_000_000, weightsMaxAbs: 549 })).not.toThrow();
    expect(() => assertNoOverflow({ maxAbsValue: 1000, rows: 1_000_000, weightsMaxAbs: 550 })).toThrow(HeOverflowError);
    expect(() => assertNoOverflow({ maxAbsValue: -1, rows: 10 })).toThrow(HeOverflowError);
    expect(() => assertNoOverflow({ maxAbsValue: 1.5, rows: 10 })).toThrow(HeOverflowError);
  });
});

describe('parameter sets', () => {
  it('have stable, distinct ids tied to the SEAL parameters', async () => {
    const [bfv, ckks] = await Promise.all([getParams('bfv'), getParams('ckks')]);
    expect(bfv.paramsId).toBe('bfv-n8192-993723073de768ad');
    expect(ckks.paramsId).toBe('ckks-n8192-7593d9c4bc74bf5e');
    expect([bfv.slotCount, ckks.slotCount]).toEqual([8192, 4096]);
    expect(() => getParams('bgv' as 'bfv')).toThrow(HeInputError);
  });
});

describe('ciphertext envelope', () => {
  const envelope = { paramsId: 'bfv-n8192-993723073de768ad', keyFingerprint: 'ab'.repeat(32), ciphertext: Uint8Array.from([1, 2, 3, 4, 5]), count: 42 };

  it('round-trips, in bytes and as base64', () => {
    expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope);
    const { count: _, ...withoutCount } = envelope;
    expect(decodeResultEnvelope(encodeResultEnvelope(withoutCount))).toEqual(withoutCount);
  });

  it('refuses every single-byte change and every truncation', () => {
    const bytes = encodeEnvelope(envelope);
    for (let i = 0; i < bytes.length; i++) {
      const flipped = bytes.slice();
      flipped[i]! ^= 0x01;
      let decoded: unknown;
      try {
        decoded = decodeEnvelope(flipped);
      } catch (error) {
        expect(error).toBeInstanceOf(HeInputError);
        continue;
      }
      // The only fields without a checksum are the labels, which are checked against the key instead.
      expect(decoded).not.toEqual(envelope);
    }
    for (let length = 0; length < bytes.length; length++) expect(() => decodeEnvelope(bytes.subarray(0, length))).toThrow(HeInputError);
    expect(() => decodeEnvelope(Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
  });

  it('refuses what is not base64', () => {
    for (const bad of ['', '***', 'abc', 'a'.repeat(5)]) expect(() => decodeResultEnvelope(bad)).toThrow(HeInputError);
  });
});
