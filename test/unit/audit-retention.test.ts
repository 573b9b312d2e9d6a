import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type AuditCheckpoint, checkpointSignature, retentionFor, retentionPolicy, RetentionPolicyError } from '../../src/audit/index.ts';
import { invalidCheckpoints } from '../../src/audit/checkpoint.ts';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';

const RULES_DIR = join(fileURLToPath(new URL('../../', import.meta.url)), 'schema', 'jurisdictions');

const set = (short: string, jurisdictions: string[], days: number) => ({ short, jurisdictions, retention: { accessRecords: { days, rule: `${short} rule` } } });
const RULES = { sets: [set('A', ['AA'], 365), set('B', ['BB', 'BC'], 1095), set('C', ['CC'], 730)] };

describe('retention periods of access records', () => {
  it('takes the longest period among a record’s subject jurisdictions', () => {
    const policy = retentionPolicy(RULES);
    expect(retentionFor(policy, ['AA'])).toMatchObject({ days: 365, law: 'A' });
    expect(retentionFor(policy, ['AA', 'CC'])).toMatchObject({ days: 730, law: 'C' });
    expect(retentionFor(policy, ['CC', 'BC', 'AA'])).toMatchObject({ days: 1095, law: 'B' });
  });

  it('keeps subjects of an ungoverned jurisdiction, and records naming no subject, for the longest period', () => {
    const policy = retentionPolicy(RULES);
    expect(retentionFor(policy, ['AA', 'ZZ']).days).toBe(1095);
    expect(retentionFor(policy, []).days).toBe(1095);
  });

  it("applies the operator's own jurisdiction to records naming no subject, and only to those", () => {
    const policy = retentionPolicy(RULES, 'AA');
    expect(retentionFor(policy, []).days).toBe(365);
    expect(retentionFor(policy, ['CC']).days).toBe(730);
    expect(() => retentionPolicy(RULES, 'ZZ')).toThrow(RetentionPolicyError);
    expect(() => retentionPolicy({ sets: [] })).toThrow(RetentionPolicyError);
  });

  it('reads the periods from the rule sets counsel reviews', async () => {
    const policy = retentionPolicy(await loadJurisdictionRules(RULES_DIR));
    expect(retentionFor(policy, ['IN'])).toMatchObject({ days: 365, law: expect.stringContaining('DPDP') });
    expect(retentionFor(policy, ['IN', 'CN'])).toMatchObject({ days: 1095, law: expect.stringContaining('PIPL') });
  });
});

describe('prune checkpoints', () => {
  const key = randomBytes(32);
  const unsigned = (seq: number, prunedCount: number): Omit<AuditCheckpoint, 'signature'> => ({
    seq,
    hash: `h${seq}`,
    prunedCount,
    prunedBefore: new Date('2025-01-01T00:00:00Z'),
    createdAt: new Date('2026-01-01T00:00:00Z'),
  });
  const signed = (seq: number, prunedCount: number, signingKey: Uint8Array = key): AuditCheckpoint => {
    const checkpoint = unsigned(seq, prunedCount);
    return { ...checkpoint, signature: checkpointSignature(signingKey, checkpoint) };
  };

  it('signs every field', () => {
    const base = unsigned(10, 10);
    const signature = checkpointSignature(key, base);
    const variants = [
      { ...base, seq: 11 },
      { ...base, hash: 'other' },
      { ...base, prunedCount: 9 },
      { ...base, prunedBefore: new Date('2025-01-02T00:00:00Z') },
      { ...base, createdAt: new Date('2026-01-01T00:00:01Z') },
    ];
    for (const variant of variants) expect(checkpointSignature(key, variant)).not.toBe(signature);
    expect(checkpointSignature(randomBytes(32), base)).not.toBe(signature);
  });

  it('accepts a chain of checkpoints and names every forged, altered or missing one', () => {
    expect(invalidCheckpoints(key, [signed(5, 5), signed(8, 3), signed(20, 12)])).toEqual([]);
    expect(invalidCheckpoints(key, [signed(5, 5), signed(8, 3, randomBytes(32))])).toEqual([{ seq: 8, detail: expect.stringMatching(/forged/) }]);
    expect(invalidCheckpoints(key, [signed(5, 5), { ...signed(8, 3), hash: 'moved' }])).toEqual([{ seq: 8, detail: expect.any(String) }]);
    expect(invalidCheckpoints(key, [signed(5, 5), signed(20, 12)])).toEqual([{ seq: 20, detail: expect.stringMatching(/removed/) }]);
    expect(invalidCheckpoints(key, [signed(8, 3)])).toEqual([{ seq: 8, detail: expect.any(String) }]);
    expect(invalidCheckpoints(key, [signed(5, 5, randomBytes(32)), signed(8, 3), signed(30, 12)]).map((c) => c.seq)).toEqual([5, 30]);
  });
});
