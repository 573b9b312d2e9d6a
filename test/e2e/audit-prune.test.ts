import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditDraft,
  appendAuditRecord,
  checkpointSignature,
  planPrune,
  pruneAuditLog,
  type PruneOptions,
  readCheckpoints,
  retentionPolicy,
  type RetentionPolicy,
  verifyAuditChain,
} from '../../src/audit/index.ts';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { withCliWorld } from '../support/cli.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const ACTOR = { kind: 'cli', id: 'test' } as const;

function draft(recordedAt: string, subjects: Record<string, string>): AuditDraft {
  const refs = new Map(Object.entries(subjects));
  return auditDraft({
    recordedAt: new Date(recordedAt),
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    decision: refs.size > 0 ? 'allowed' : 'denied',
    tables: refs.size > 0 ? ['customers'] : [],
    rowCount: refs.size,
    subjects: refs,
  });
}

/**
 * Six records in time order. Against NOW and the rule sets: 1 (IN, 365 days) and 3 (EU-DE, 365) are past
 * retention; 2 names no subject (longest period, 1095 days: kept until 2026-02-01, past); 4 (CN, 1095 days)
 * and 5 (IN) are still covered; 6 is recent.
 */
const RECORDS = [
  draft('2023-01-10T00:00:00Z', { 'customer:in1': 'IN', 'customer:in2': 'IN' }),
  draft('2023-02-01T00:00:00Z', {}),
  draft('2024-03-01T00:00:00Z', { 'customer:de1': 'EU-DE' }),
  draft('2025-01-15T00:00:00Z', { 'customer:cn1': 'CN', 'customer:in1': 'IN' }),
  draft('2025-09-01T00:00:00Z', { 'customer:in3': 'IN' }),
  draft('2026-05-01T00:00:00Z', { 'customer:sg1': 'SG' }),
];

describe.each(ENGINES)('audit prune on $engine', ({ create }) => {
  let t: TestDatabase;
  let policy: RetentionPolicy;
  const key = randomBytes(32);
  const verify = () => verifyAuditChain(t.db, key);
  const count = async (sql: string) => Number((await t.db.query<{ n: number }>(sql)).rows[0]!.n);
  const prune = async (before: string, options: Omit<PruneOptions, 'actor'> = {}) => {
    const plan = await planPrune(t.db, { before: new Date(before), policy, now: NOW });
    return pruneAuditLog(t.db, key, plan, { actor: ACTOR, ...options });
  };

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
    policy = retentionPolicy(await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions')));
  });
  beforeEach(async () => {
    await emptyAuditLog(t.db);
    for (const record of RECORDS) await t.db.transaction((tx) => appendAuditRecord(tx, key, record));
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('prunes the records before a cut-off in batches, each leaving a signed checkpoint, and the chain verifies', async () => {
    const hashOf3 = (await t.db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 3')).rows[0]!.hash;
    const plan = await planPrune(t.db, { before: new Date('2024-06-01T00:00:00Z'), policy, now: NOW });
    expect(plan).toMatchObject({ fromSeq: 1, throughSeq: 3, records: 3, conflicts: [] });

    const result = await prune('2024-06-01T00:00:00Z', { batchSize: 2 });
    expect(result).toMatchObject({ pruned: 3, prunedThrough: 3, auditSeq: 7 });
    expect(await count('SELECT min(seq) AS n FROM audit_log')).toBe(4);
    expect(await count('SELECT count(*) AS n FROM audit_subjects WHERE audit_seq <= 3')).toBe(0);
    const checkpoints = await readCheckpoints(t.db);
    expect(checkpoints.map((c) => [c.seq, c.prunedCount])).toEqual([
      [2, 2],
      [3, 1],
    ]);
    expect(checkpoints[1]!.hash).toBe(hashOf3);
    expect(await verify()).toEqual({ ok: true, checked: 4, headSeq: 7, prunedThrough: 3, bad: [] });

    const record = (await t.db.query<{ operation_kind: string; details: Record<string, unknown>; row_count: number }>('SELECT * FROM audit_log WHERE seq = 7'))
      .rows[0]!;
    expect(record).toMatchObject({ operation_kind: 'audit_prune', row_count: 3, details: { prunedFrom: 1, prunedThrough: 3, retentionOverridden: [] } });

    await t.db.transaction((tx) => appendAuditRecord(tx, key, draft('2026-05-02T00:00:00Z', { 'customer:sg2': 'SG' })));
    expect(await verify()).toMatchObject({ ok: true, checked: 5, headSeq: 8 });
  });

  it('stops at the first record, in chain order, recorded at or after the cut-off', async () => {
    await t.db.transaction((tx) => appendAuditRecord(tx, key, draft('2020-01-01T00:00:00Z', { 'customer:in9': 'IN' })));
    const plan = await planPrune(t.db, { before: new Date('2026-12-31T00:00:00Z'), policy, now: new Date('2031-01-01T00:00:00Z') });
    expect(plan).toMatchObject({ fromSeq: 1, throughSeq: 7, records: 7, conflicts: [] });
    expect((await planPrune(t.db, { before: new Date('2025-01-15T00:00:00Z'), policy, now: NOW })).throughSeq).toBe(3);
    // Record 7 is older than this cut-off, but record 1 before it in the chain is not.
    expect(await planPrune(t.db, { before: new Date('2021-01-01T00:00:00Z'), policy, now: NOW })).toMatchObject({ throughSeq: 0, records: 0 });
  });

  it('refuses to prune records a retention period still covers, unless forced, and audits the override', async () => {
    const plan = await planPrune(t.db, { before: new Date('2025-12-01T00:00:00Z'), policy, now: NOW });
    expect(plan.throughSeq).toBe(5);
    expect(plan.conflicts.map((c) => [c.jurisdictions, c.retention.days, c.keepUntil.toISOString().slice(0, 10)])).toEqual([
      [['CN', 'IN'], 1095, '2028-01-15'],
      [['IN'], 365, '2026-09-01'],
    ]);
    await expect(pruneAuditLog(t.db, key, plan, { actor: ACTOR })).rejects.toMatchObject({ name: 'PruneRefusedError', overridable: true });
    await expect(pruneAuditLog(t.db, key, plan, { actor: ACTOR })).rejects.toThrow(/CN\+IN subjects \(PIPL.*1095 days\) must be kept until 2028-01-15/);
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(6);
    expect(await count('SELECT count(*) AS n FROM audit_checkpoints')).toBe(0);

    const forced = await pruneAuditLog(t.db, key, plan, { actor: ACTOR, force: true });
    expect(forced).toMatchObject({ pruned: 5, prunedThrough: 5 });
    const record = (await t.db.query<{ details: { retentionOverridden: string[] } }>('SELECT details FROM audit_log WHERE seq = $1', [forced.auditSeq]))
      .rows[0]!;
    expect(record.details.retentionOverridden).toHaveLength(2);
    expect(await verify()).toMatchObject({ ok: true, checked: 2, prunedThrough: 5 });
  });

  it("keeps records naming no subject for the longest period, or the operator's own jurisdiction's", async () => {
    const earlier = new Date('2025-06-01T00:00:00Z');
    const longest = await planPrune(t.db, { before: new Date('2023-06-01T00:00:00Z'), policy, now: earlier });
    expect(longest.conflicts.map((c) => [c.jurisdictions, c.retention.days])).toEqual([[[], 1095]]);
    const rules = await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions'));
    const indian = await planPrune(t.db, { before: new Date('2023-06-01T00:00:00Z'), policy: retentionPolicy(rules, 'IN'), now: earlier });
    expect(indian).toMatchObject({ throughSeq: 2, conflicts: [] });
  });

  it('finds a forged, altered or removed checkpoint', async () => {
    await prune('2024-06-01T00:00:00Z', { batchSize: 2 });
    expect((await verify()).ok).toBe(true);

    await t.db.query("UPDATE audit_checkpoints SET hash = repeat('0', 64) WHERE seq = 3");
    expect((await verify()).firstBad).toMatchObject({ seq: 3, problem: 'checkpoint_invalid' });

    // A checkpoint re-signed with another key, claiming record 4 was pruned too.
    const hashOf4 = (await t.db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 4')).rows[0]!.hash;
    const forged = { seq: 4, hash: hashOf4, prunedCount: 2, prunedBefore: new Date('2025-06-01T00:00:00Z'), createdAt: new Date() };
    await t.db.query('DELETE FROM audit_checkpoints WHERE seq = 3');
    await t.db.query('INSERT INTO audit_checkpoints VALUES ($1, $2, $3, $4, $5, $6)', [
      forged.seq,
      forged.hash,
      forged.prunedCount,
      forged.prunedBefore,
      forged.createdAt,
      checkpointSignature(randomBytes(32), forged),
    ]);
    expect((await verify()).firstBad).toMatchObject({ seq: 4, problem: 'checkpoint_invalid' });

    // Without the latest checkpoint the walk starts after the one before, where record 3 is missing.
    await t.db.query('DELETE FROM audit_checkpoints WHERE seq = 4');
    expect((await verify()).firstBad).toMatchObject({ seq: 3, problem: 'removed' });
    await t.db.query('DELETE FROM audit_checkpoints');
    expect((await verify()).firstBad).toMatchObject({ seq: 1, problem: 'removed' });
  });

  it('still finds records after the checkpoint that were changed, removed or re-linked', async () => {
    await prune('2024-06-01T00:00:00Z');
    await t.db.query('UPDATE audit_log SET row_count = 9 WHERE seq = 5');
    expect((await verify()).firstBad).toMatchObject({ seq: 5, problem: 'changed' });
    await t.db.query('UPDATE audit_log SET row_count = 1 WHERE seq = 5');
    expect((await verify()).ok).toBe(true);

    await t.db.query("UPDATE audit_subject_lists SET jurisdictions = array_fill('SG'::text, ARRAY[cardinality(jurisdictions)]) WHERE audit_seq = 4");
    expect((await verify()).firstBad).toMatchObject({ seq: 4, problem: 'subjects_changed' });
    await t.db.query('DELETE FROM audit_subject_lists WHERE audit_seq = 4');
    await t.db.query('DELETE FROM audit_log WHERE seq = 4');
    expect((await verify()).firstBad).toMatchObject({ seq: 4, problem: 'removed' });
  });

  it('leaves a verifiable chain when interrupted between batches, and resumes', async () => {
    const stop = new Error('interrupted');
    const interrupted = prune('2024-06-01T00:00:00Z', {
      batchSize: 1,
      onProgress(phase, done) {
        if (phase === 'pruning' && done === 1) throw stop;
      },
    });
    await expect(interrupted).rejects.toBe(stop);
    expect(await verify()).toMatchObject({ ok: true, checked: 5, prunedThrough: 1 });
    expect(await prune('2024-06-01T00:00:00Z')).toMatchObject({ pruned: 2, prunedThrough: 3 });
    expect(await verify()).toMatchObject({ ok: true, prunedThrough: 3 });
  });

  it('refuses to prune a chain that does not verify: a prune must not bury tampering', async () => {
    await t.db.query("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2");
    await expect(prune('2024-06-01T00:00:00Z')).rejects.toThrow(/broken at record 2 \(changed\)/);
    await expect(prune('2024-06-01T00:00:00Z', { force: true })).rejects.toMatchObject({ name: 'PruneRefusedError', overridable: false });
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(6);
  });
});

describe('keyhole audit prune (CLI, real PostgreSQL)', () => {
  it('prunes old records, refuses recent ones without --force, and audit verify reports the checkpoint', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      for (const record of RECORDS.slice(0, 3)) await t.db.transaction((tx) => appendAuditRecord(tx, kh.broker.secrets.auditKey, record));
      await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 3) { id } }');

      const refused = await keyhole('audit', 'prune', '--before', '2099-01-01').catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 3 });
      expect((refused as { stderr: string }).stderr).toMatch(/must be kept until .*use --force/);

      const dry = await keyhole('audit', 'prune', '--before', '2024-06-01', '--dry-run');
      expect(dry.stdout).toContain('would prune 3 records (1-3)');
      const done = await keyhole('audit', 'prune', '--before', '2024-06-01');
      expect(done.stdout).toContain('pruned 3 records (1-3); checkpoint at 3, audited as record 5');
      const verified = await keyhole('audit', 'verify');
      expect(verified.stdout).toContain('audit chain OK: 2 records verified, head at 5; records 1-3 pruned under a signed checkpoint');
    }));
});
