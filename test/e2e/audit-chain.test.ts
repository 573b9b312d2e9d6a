import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { withCliWorld } from '../support/cli.ts';

/** Five requests of different kinds, so the chain holds allowed and denied records with subjects. */
async function makeTraffic(kh: TestBroker) {
  const support = await kh.token('support-bot');
  await kh.graphql(support, '{ customers(limit: 3) { id residency } }');
  await kh.graphql(null, '{ viewer { agent } }');
  await kh.graphql(support, '{ customers(limit: 99) { id } }');
  await kh.graphql(await kh.token('fraud-bot'), '{ transactions(limit: 2) { id amount } }');
  await kh.graphql(support, '{ accounts { id kind } }');
}

describe.each(ENGINES)('audit chain on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  const verify = () => verifyAuditChain(t.db, kh.broker.secrets.auditKey);
  beforeEach(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    await makeTraffic(kh);
  });
  afterEach(async () => {
    await kh.close();
    await t.drop();
  });

  it('writes one record per request, with the subjects returned as pseudonyms', async () => {
    const { rows } = await t.db.query<{ seq: number; decision: string; code: string | null; row_count: number; subject_count: number; tables: string[] }>(
      'SELECT seq, decision, code, row_count, subject_count, tables FROM audit_log ORDER BY seq',
    );
    expect(rows.map((r) => [r.decision, r.code])).toEqual([
      ['allowed', null],
      ['denied', 'UNAUTHENTICATED'],
      ['denied', 'LIMIT_EXCEEDED'],
      ['allowed', null],
      ['allowed', null],
    ]);
    expect(rows[0]).toMatchObject({ row_count: 3, subject_count: 3, tables: ['customers'] });
    const subjects = await t.db.query<{ subject: string }>('SELECT subject FROM audit_subjects WHERE audit_seq = 1');
    expect(subjects.rows).toHaveLength(3);
    for (const { subject } of subjects.rows) expect(subject).toMatch(/^customer:[\w-]{22}$/);
    expect(await verify()).toMatchObject({ ok: true, checked: 5, headSeq: 5 });
  });

  it('finds a changed record', async () => {
    await t.db.query('UPDATE audit_log SET row_count = 0 WHERE seq = 4');
    expect((await verify()).firstBad).toMatchObject({ seq: 4, problem: 'changed' });
  });

  it('finds a removed record in the middle', async () => {
    await t.db.query('DELETE FROM audit_subject_lists WHERE audit_seq = 3');
    await t.db.query('DELETE FROM audit_log WHERE seq = 3');
    expect((await verify()).firstBad).toMatchObject({ seq: 3, problem: 'removed' });
  });

  it('finds records removed from the end', async () => {
    await t.db.query('DELETE FROM audit_subject_lists WHERE audit_seq = 5');
    await t.db.query('DELETE FROM audit_log WHERE seq = 5');
    expect((await verify()).firstBad).toMatchObject({ problem: 'head_mismatch' });
  });

  it('finds reordered records', async () => {
    await t.db.query('UPDATE audit_log SET seq = -1 WHERE seq = 2');
    await t.db.query('UPDATE audit_log SET seq = 2 WHERE seq = 3');
    await t.db.query('UPDATE audit_log SET seq = 3 WHERE seq = -1');
    expect((await verify()).firstBad).toMatchObject({ seq: 2, problem: 'inserted_or_reordered' });
  });

  it('finds an inserted record, even one chained to the last hash and with the head moved to it', async () => {
    await t.db.query(
      `INSERT INTO audit_log SELECT 6, recorded_at, 'forged', actor_kind, actor_id, purpose, actor_location, operation_kind, operation_name,
         operation_hash, 'allowed', NULL, NULL, tables, fields, row_count, subject_count, subjects_digest, jurisdictions, privacy_cost,
         findings, details, hash, encode(sha256(hash::bytea), 'hex') FROM audit_log WHERE seq = 5`,
    );
    await t.db.query('UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6)');
    expect((await verify()).firstBad).toMatchObject({ seq: 6, problem: 'changed' });
  });

  it('finds an edited subject list', async () => {
    await t.db.query("UPDATE audit_subject_lists SET jurisdictions = array_fill('US-CA'::text, ARRAY[cardinality(jurisdictions)]) WHERE audit_seq = 1");
    expect((await verify()).firstBad).toMatchObject({ seq: 1, problem: 'subjects_changed' });
  });
});

describe('keyhole audit verify (CLI, real PostgreSQL)', () => {
  it('exits 0 on an intact chain and non-zero naming the first bad record after tampering', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      await makeTraffic(kh);
      const ok = await keyhole('audit', 'verify');
      expect(ok.stdout).toContain('audit chain OK: 5 records verified');
      // The officer's panel resumes from the walk, and says when the chain was last wholly verified.
      const point = await t.db.query<{ seq: number; full_verified_at: Date | null }>('SELECT seq, full_verified_at FROM audit_verified_point');
      expect(point.rows.map((r) => [Number(r.seq), r.full_verified_at !== null])).toEqual([[5, true]]);
      await t.db.query("UPDATE audit_log SET decision = 'allowed' WHERE seq = 2");
      const broken = await keyhole('audit', 'verify').catch((error: { code: number; stderr: string }) => error);
      expect(broken).toMatchObject({ code: 2 });
      expect((broken as { stderr: string }).stderr).toContain('audit chain BROKEN at record 2 (changed)');
    }));
});
