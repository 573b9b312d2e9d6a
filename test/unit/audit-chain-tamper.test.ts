import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditDraft, appendAuditRecords, type ChainProblem, checkpointSignature, verifyAuditChain } from '../../src/audit/index.ts';
import { withCliEnvironment } from '../../src/cli/output.ts';
import { runCli } from '../../src/cli/main.ts';
import { loadProjectConfig } from '../../src/config/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft, fullAuditDraft } from '../support/audit.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const auditKey = randomBytes(32);
const RECORDS = 3;
/** The record every tampering edits: one in the middle, so the one after it checks the link too. */
const TAMPERED = 2;

/** One edit per column the record hash covers: a SQL expression giving the column a different value. */
const HASHED_COLUMNS: Array<[column: string, edit: string]> = [
  ['recorded_at', "recorded_at + interval '1 second'"],
  ['request_id', "'forged-request'"],
  ['actor_kind', "'officer'"],
  ['actor_id', "'fraud-bot'"],
  ['on_behalf_of', "'someone-else'"],
  ['purpose', "'fraud_review'"],
  ['actor_location', "'US'"],
  ['operation_kind', "'mutation'"],
  ['operation_name', "'Other'"],
  ['operation_hash', "repeat('b', 64)"],
  ['decision', "'denied'"],
  ['code', "'OTHER'"],
  ['reason', "'edited'"],
  ['tables', "ARRAY['accounts']"],
  ['fields', `'[{"table":"customers","field":"email","mask":"clear"}]'::jsonb`],
  ['row_count', 'row_count + 1'],
  ['subject_count', 'subject_count + 1'],
  ['subjects_digest', "repeat('0', 64)"],
  ['jurisdictions', "ARRAY['US-CA']"],
  ['privacy_cost', `'{"epsilon": 0.05}'::jsonb`],
  ['findings', "'[]'::jsonb"],
  ['details', `'{"note": "m"}'::jsonb`],
];

describe('audit verify finds every hashed field of a stored record tampered with', () => {
  let t: TestDatabase;
  const verify = () => verifyAuditChain(t.db, auditKey);
  /** Runs `keyhole audit verify --json` in this process, on this database: exit code and parsed output. */
  async function cliVerify(): Promise<{ exitCode: number; result: { ok: boolean } }> {
    let out = '';
    const stdout = new Writable({
      write: (chunk, _, done) => {
        out += String(chunk);
        done();
      },
    });
    const stderr = new Writable({ write: (_chunk, _, done) => done() });
    const config = await loadProjectConfig(PROJECT_ROOT);
    const secrets = { auditKey, maskingKey: randomBytes(32), maskingKeyId: 'k-test', subjectKey: randomBytes(32) };
    const context = { root: PROJECT_ROOT, dataDir: PROJECT_ROOT, config, secrets, db: t.db, where: 'test database' };
    const exitCode = await withCliEnvironment({ stdout, stderr, context }, () => runCli(['node', 'keyhole', 'audit', 'verify', '--json']));
    return { exitCode, result: JSON.parse(out) };
  }

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    await t.db.transaction((tx) =>
      appendAuditRecords(
        tx,
        auditKey,
        Array.from({ length: RECORDS }, (_, i) => fullAuditDraft(i + 1)),
      ),
    );
    await t.db.exec(
      'CREATE TABLE audit_original AS SELECT * FROM audit_log; CREATE TABLE head_original AS SELECT * FROM audit_head; CREATE TABLE subjects_original AS SELECT * FROM audit_subject_lists',
    );
  });
  afterAll(() => t.drop());
  // Each test tampers with one thing; the chain is put back as written before the next.
  beforeEach(async () => {
    const columns = [...HASHED_COLUMNS.map(([column]) => column), 'prev_hash', 'hash'];
    await t.db.exec('INSERT INTO audit_log SELECT * FROM audit_original WHERE seq NOT IN (SELECT seq FROM audit_log)');
    await t.db.exec(`UPDATE audit_log a SET ${columns.map((c) => `${c} = o.${c}`).join(', ')} FROM audit_original o WHERE a.seq = o.seq`);
    await t.db.exec('UPDATE audit_head h SET seq = o.seq, hash = o.hash FROM head_original o WHERE h.id = o.id');
    await t.db.exec('DELETE FROM audit_subject_lists; INSERT INTO audit_subject_lists SELECT * FROM subjects_original');
  });

  it('verifies the chain as written, with exit code 0', async () => {
    expect(await verify()).toEqual({ ok: true, checked: RECORDS, headSeq: RECORDS, prunedThrough: 0, bad: [] });
    expect(await cliVerify()).toMatchObject({ exitCode: 0, result: { ok: true } });
  });

  it('covers every column of audit_log but seq, the link and the hash', async () => {
    const { rows } = await t.db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_log'");
    const unhashed = ['seq', 'prev_hash', 'hash'];
    expect(rows.map((r) => r.column_name).filter((c) => !unhashed.includes(c))).toEqual(expect.arrayContaining(HASHED_COLUMNS.map(([c]) => c)));
    expect(rows).toHaveLength(HASHED_COLUMNS.length + unhashed.length);
  });

  it.each(HASHED_COLUMNS)('reports record %s tampered: ok false, the record changed, exit code 2', async (column, edit) => {
    await t.db.exec(`UPDATE audit_log SET ${column} = ${edit} WHERE seq = ${TAMPERED}`);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.bad).toEqual([{ seq: TAMPERED, problem: 'changed', detail: `record ${TAMPERED} was modified after it was written` }]);
    expect(await cliVerify()).toMatchObject({ exitCode: 2, result: { ok: false, firstBad: { seq: TAMPERED, problem: 'changed' } } });
  });

  const linkFaults: Array<[what: string, edit: string, faults: Array<[number, ChainProblem]>]> = [
    ['its link to the record before', `UPDATE audit_log SET prev_hash = repeat('0', 64) WHERE seq = ${TAMPERED}`, [[TAMPERED, 'inserted_or_reordered']]],
    [
      'its own hash',
      `UPDATE audit_log SET hash = repeat('0', 64) WHERE seq = ${TAMPERED}`,
      [
        [TAMPERED, 'changed'],
        [TAMPERED + 1, 'inserted_or_reordered'],
      ],
    ],
    [
      'its subject list',
      `UPDATE audit_subject_lists SET jurisdictions = array_fill('US'::text, ARRAY[cardinality(jurisdictions)]) WHERE audit_seq = ${TAMPERED}`,
      [[TAMPERED, 'subjects_changed']],
    ],
    ['its subject count, by a subject removed', `DELETE FROM audit_subject_lists WHERE audit_seq = ${TAMPERED}`, [[TAMPERED, 'subjects_changed']]],
  ];
  it.each(linkFaults)('reports %s tampered: ok false, exit code 2', async (_, edit, faults) => {
    await t.db.exec(edit);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.bad.map((fault) => [fault.seq, fault.problem])).toEqual(faults);
    expect((await cliVerify()).exitCode).toBe(2);
  });

  it('reports records removed from the middle as one run, and counts what it checked', async () => {
    await t.db.exec('DELETE FROM audit_subject_lists WHERE audit_seq <= 2; DELETE FROM audit_log WHERE seq <= 2');
    const progress: Array<[number, number]> = [];
    const result = await verifyAuditChain(t.db, auditKey, (checked, total) => progress.push([checked, total]));
    expect(result).toMatchObject({ ok: false, checked: 1, headSeq: RECORDS });
    expect(result.bad).toEqual([{ seq: 1, problem: 'removed', detail: 'records 1-2 are missing (next present is 3)' }]);
    expect(progress).toEqual([[1, 1]]);
    expect((await cliVerify()).exitCode).toBe(2);
  });

  it('reports one removed record by its number, and checks the record after it on its own', async () => {
    await t.db.exec(`DELETE FROM audit_subject_lists WHERE audit_seq = ${TAMPERED}; DELETE FROM audit_log WHERE seq = ${TAMPERED}`);
    expect((await verify()).bad).toEqual([{ seq: TAMPERED, problem: 'removed', detail: `record ${TAMPERED} is missing (next present is ${TAMPERED + 1})` }]);
  });

  it('says what changed in the link and subject faults', async () => {
    await t.db.exec(`UPDATE audit_log SET prev_hash = repeat('0', 64) WHERE seq = ${TAMPERED}`);
    expect((await verify()).bad).toEqual([
      { seq: TAMPERED, problem: 'inserted_or_reordered', detail: `record ${TAMPERED} does not follow record ${TAMPERED - 1}` },
    ]);
    await t.db.exec(`UPDATE audit_log SET prev_hash = (SELECT prev_hash FROM audit_original WHERE seq = ${TAMPERED}) WHERE seq = ${TAMPERED}`);
    await t.db.exec(`UPDATE audit_subject_lists SET jurisdictions = array_fill('US'::text, ARRAY[cardinality(jurisdictions)]) WHERE audit_seq = ${TAMPERED}`);
    expect((await verify()).bad).toEqual([{ seq: TAMPERED, problem: 'subjects_changed', detail: `the data subjects recorded for ${TAMPERED} were modified` }]);
  });

  it('reports a head whose hash disagrees with the record at its own sequence', async () => {
    await t.db.exec(`UPDATE audit_head SET hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE id = 1`);
    const result = await verify();
    expect(result).toMatchObject({ ok: false, headSeq: RECORDS, firstBad: { seq: RECORDS + 1, problem: 'head_mismatch' } });
    expect(result.bad).toHaveLength(1);
    expect((await cliVerify()).exitCode).toBe(2);
  });

  it('reports a head past the last record, its hash unchanged', async () => {
    await t.db.exec(`UPDATE audit_head SET seq = ${RECORDS + 1} WHERE id = 1`);
    expect((await verify()).bad).toEqual([
      {
        seq: RECORDS + 1,
        problem: 'head_mismatch',
        detail: `the chain ends at ${RECORDS} but its head says ${RECORDS + 1}: records were removed from the end`,
      },
    ]);
  });
});

/** Prunes records 1..seq the way `audit prune` leaves them: a signed checkpoint holding the last one's hash. */
async function pruneThrough(db: TestDatabase['db'], seq: number) {
  const hash = (await db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [seq])).rows[0]!.hash;
  const checkpoint = { seq, hash, prunedCount: seq, prunedBefore: new Date(Date.UTC(2026, 0, 2)), createdAt: new Date(Date.UTC(2026, 1, 1)) };
  await db.query('DELETE FROM audit_subject_lists WHERE audit_seq <= $1', [seq]);
  await db.query('DELETE FROM audit_log WHERE seq <= $1', [seq]);
  await db.query('INSERT INTO audit_checkpoints (seq, hash, pruned_count, pruned_before, created_at, signature) VALUES ($1, $2, $3, $4, $5, $6)', [
    seq,
    hash,
    seq,
    checkpoint.prunedBefore,
    checkpoint.createdAt,
    checkpointSignature(auditKey, checkpoint),
  ]);
}

describe('audit verify from a signed checkpoint', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    await t.db.transaction((tx) => appendAuditRecords(tx, auditKey, [fullAuditDraft(1), fullAuditDraft(2), fullAuditDraft(3)]));
  });
  afterAll(() => t.drop());

  it('walks from the checkpoint, and refuses one signed with another key', async () => {
    await pruneThrough(t.db, 1);
    expect(await verifyAuditChain(t.db, auditKey)).toEqual({ ok: true, checked: 2, headSeq: 3, prunedThrough: 1, bad: [] });
    await t.db.exec(`UPDATE audit_checkpoints SET signature = repeat('0', 64)`);
    expect((await verifyAuditChain(t.db, auditKey)).bad.map((f) => [f.seq, f.problem])).toEqual([[1, 'checkpoint_invalid']]);
  });
});

describe('audit verify accepts every state an honest log can be in', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterEach(() => t.drop());
  const append = (...drafts: AuditDraft[]) => t.db.transaction((tx) => appendAuditRecords(tx, auditKey, drafts));

  it('an empty log', async () => {
    expect(await verifyAuditChain(t.db, auditKey)).toEqual({ ok: true, checked: 0, headSeq: 0, prunedThrough: 0, bad: [] });
  });

  it('records with no data subject (refusals, aggregates) beside one with subjects', async () => {
    await append(auditDraft({ decision: 'denied', code: 'FIELD_HIDDEN' }), fullAuditDraft(2), auditDraft());
    expect(await verifyAuditChain(t.db, auditKey)).toMatchObject({ ok: true, checked: 3, headSeq: 3 });
  });

  it('a record committed after the head was read: past the head, verified, not reported', async () => {
    await append(fullAuditDraft(1), fullAuditDraft(2), fullAuditDraft(3));
    // What a verify that read the head just before another broker committed record 3 sees.
    await t.db.exec('UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2) WHERE id = 1');
    expect(await verifyAuditChain(t.db, auditKey)).toEqual({ ok: true, checked: 3, headSeq: 2, prunedThrough: 0, bad: [] });
  });

  it('every record pruned under a checkpoint at the head', async () => {
    await append(fullAuditDraft(1), fullAuditDraft(2));
    await pruneThrough(t.db, 2);
    expect(await verifyAuditChain(t.db, auditKey)).toEqual({ ok: true, checked: 0, headSeq: 2, prunedThrough: 2, bad: [] });
  });

  it('but not a log whose head was deleted: its end could have been cut off unnoticed', async () => {
    await append(fullAuditDraft(1), fullAuditDraft(2));
    await t.db.exec('DELETE FROM audit_subject_lists WHERE audit_seq = 2; DELETE FROM audit_log WHERE seq = 2; DELETE FROM audit_head');
    expect((await verifyAuditChain(t.db, auditKey)).bad).toEqual([
      { seq: 2, problem: 'head_mismatch', detail: 'the chain has no head (audit_head is empty): its end cannot be checked' },
    ]);
  });
});
