import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditCheckpoint,
  type AuditDraft,
  type AuditRow,
  appendAuditRecords,
  checkpointSignature,
  DEFAULT_PRUNE_BATCH,
  describeConflicts,
  type PruneOptions,
  type PrunePlan,
  PruneRefusedError,
  planPrune,
  pruneAuditLog,
  type RetentionConflict,
  type RetentionPolicy,
  RetentionPolicyError,
  readCheckpoints,
  recordFromRow,
  retentionFor,
  retentionPolicy,
  subjectsDigest,
  verifyAuditChain,
} from '../../src/audit/index.ts';
import { invalidCheckpoints } from '../../src/audit/checkpoint.ts';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';
import { type Db, migrate, type Queryable, type QueryResult } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const RULES_DIR = join(fileURLToPath(new URL('../../', import.meta.url)), 'schema', 'jurisdictions');
const DAY_MS = 86_400_000;

const set = (short: string, jurisdictions: string[], days: number) => ({ short, jurisdictions, retention: { accessRecords: { days, rule: `${short} rule` } } });
const RULES = { sets: [set('A', ['AA'], 365), set('B', ['BB', 'BC'], 1095), set('C', ['CC'], 730)] };
const A = { days: 365, rule: 'A rule', law: 'A' };
const B = { days: 1095, rule: 'B rule', law: 'B' };
const C = { days: 730, rule: 'C rule', law: 'C' };

describe('retention periods of access records', () => {
  it('gives each jurisdiction its rule set’s period, rule and law, and the longest to ungoverned subjects and subjectless records', () => {
    expect(retentionPolicy(RULES)).toEqual({
      byJurisdiction: new Map([
        ['AA', A],
        ['BB', B],
        ['BC', B],
        ['CC', C],
      ]),
      ungoverned: B,
      noSubjects: B,
    });
  });

  it('takes the first of equally long longest periods as the longest, whatever comes after', () => {
    const tied = { sets: [set('X', ['XX'], 730), set('Y', ['YY'], 1095), set('Z', ['ZZ'], 1095), set('W', ['WW'], 365)] };
    expect(retentionPolicy(tied)).toMatchObject({ ungoverned: { days: 1095, law: 'Y' }, noSubjects: { days: 1095, law: 'Y' } });
  });

  it('takes the longest period among a record’s subject jurisdictions, wherever it is listed', () => {
    const policy = retentionPolicy(RULES);
    expect(retentionFor(policy, ['AA'])).toEqual(A);
    expect(retentionFor(policy, ['AA', 'CC'])).toEqual(C);
    expect(retentionFor(policy, ['CC', 'BC', 'AA'])).toEqual(B);
    expect(retentionFor(policy, ['AA', 'BB', 'CC'])).toEqual(B);
  });

  it('takes the first listed of equally long periods of a record’s jurisdictions', () => {
    const policy = retentionPolicy({ sets: [set('P', ['PP'], 500), set('Q', ['QQ'], 500)] });
    expect(retentionFor(policy, ['PP', 'QQ'])).toEqual({ days: 500, rule: 'P rule', law: 'P' });
    expect(retentionFor(policy, ['QQ', 'PP'])).toEqual({ days: 500, rule: 'Q rule', law: 'Q' });
  });

  it('keeps subjects of an ungoverned jurisdiction, and records naming no subject, for the longest period', () => {
    const policy = retentionPolicy(RULES);
    expect(retentionFor(policy, ['AA', 'ZZ'])).toEqual(B);
    expect(retentionFor(policy, ['ZZ'])).toEqual(B);
    expect(retentionFor(policy, [])).toEqual(B);
  });

  it("applies the operator's own jurisdiction to records naming no subject, and only to those", () => {
    const policy = retentionPolicy(RULES, 'AA');
    expect(policy).toMatchObject({ ungoverned: B, noSubjects: A });
    expect(retentionFor(policy, [])).toEqual(A);
    expect(retentionFor(policy, ['CC'])).toEqual(C);
    expect(retentionFor(policy, ['ZZ'])).toEqual(B);
  });

  it('refuses an operator jurisdiction no rule set governs, listing the known ones in order', () => {
    const unsorted = { sets: [set('C', ['CC'], 730), set('B', ['BC', 'BB'], 1095), set('A', ['AA'], 365)] };
    const error = catchError(() => retentionPolicy(unsorted, 'ZZ'));
    expect(error).toBeInstanceOf(RetentionPolicyError);
    expect(error).toMatchObject({ name: 'RetentionPolicyError', message: 'no jurisdiction rule set governs "ZZ"; known: AA, BB, BC, CC' });
  });

  it('refuses to make a policy without rule sets: no period is known', () => {
    const error = catchError(() => retentionPolicy({ sets: [] }, 'AA'));
    expect(error).toBeInstanceOf(RetentionPolicyError);
    expect(error).toMatchObject({ name: 'RetentionPolicyError', message: 'no jurisdiction rule sets: retention periods are unknown' });
  });

  it('reads the periods from the rule sets counsel reviews', async () => {
    const rules = await loadJurisdictionRules(RULES_DIR);
    const policy = retentionPolicy(rules);
    expect(retentionFor(policy, ['IN'])).toEqual({ days: 365, rule: 'DPDP Rules 2025 r.6(1)(e)', law: 'DPDP' });
    expect(retentionFor(policy, ['IN', 'CN'])).toEqual({ days: 1095, rule: 'PIPL Art. 56; Cybersecurity Law Art. 21(3)', law: 'PIPL' });
    expect(retentionFor(retentionPolicy(rules, 'EU-FR'), [])).toEqual({ days: 365, rule: 'GDPR Art. 5(1)(e), Art. 5(2)', law: 'GDPR' });
    expect(() => retentionPolicy(rules, 'EU')).toThrow(
      new RetentionPolicyError('no jurisdiction rule set governs "EU"; known: AU, CN, EU-DE, EU-FR, IN, JP, SG, US-CA'),
    );
  });

  it('describes each conflict in one line: how many records, about whom, which rule, until when', () => {
    const conflict = (jurisdictions: string[], records: number, keepUntil: string, retention: typeof A): RetentionConflict => ({
      jurisdictions,
      records,
      newest: new Date('2020-01-01T00:00:00Z'),
      keepUntil: new Date(keepUntil),
      retention,
    });
    expect(
      describeConflicts([
        conflict(['CN', 'IN'], 2, '2028-05-31T23:59:59.999Z', B),
        conflict([], 1, '2027-01-01T00:00:00Z', B),
        conflict(['AA'], 3, '2021-02-03T12:00:00Z', A),
      ]),
    ).toEqual([
      '2 records about CN+IN subjects (B, B rule: 1095 days) must be kept until 2028-05-31',
      '1 records naming no data subject (B, B rule: 1095 days) must be kept until 2027-01-01',
      '3 records about AA subjects (A, A rule: 365 days) must be kept until 2021-02-03',
    ]);
    expect(describeConflicts([])).toEqual([]);
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

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const at = (iso: string) => new Date(iso);
const ms = (date: Date, offset: number) => new Date(date.getTime() + offset);
/** Long after every record of these tests: no retention period covers any of them any more. */
const LATER = at('2100-01-01T00:00:00Z');

describe('pruning the audit log', () => {
  let t: TestDatabase;
  const key = randomBytes(32);
  const policy: RetentionPolicy = retentionPolicy(RULES);
  const actor: PruneOptions['actor'] = { kind: 'cli', id: 'ops' };

  /** A record at `recordedAt` about one new subject per jurisdiction given (none: a record naming no subject). */
  const record = (recordedAt: Date, jurisdictions: string[] = ['AA']): AuditDraft =>
    auditDraft({ recordedAt, subjects: new Map(jurisdictions.map((j) => [`customer:${randomUUID()}`, j])) });
  const append = (drafts: AuditDraft[]) => t.db.transaction((tx) => appendAuditRecords(tx, key, drafts));
  /** Records 1..n, one a day from 2020-01-01, each about one AA subject. */
  const appendDays = (n: number) => append(Array.from({ length: n }, (_, i) => record(ms(at('2020-01-01T00:00:00Z'), i * DAY_MS))));
  const plan = (before: Date, now: Date = LATER) => planPrune(t.db, { before, policy, now });
  const count = async (sql: string) => Number((await t.db.query<{ n: number }>(sql)).rows[0]!.n);
  const head = async () => (await t.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head')).rows[0]!;
  const hashes = async () =>
    new Map((await t.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log')).rows.map((r) => [Number(r.seq), r.hash]));
  const progress = () => {
    const calls: Array<[string, number, number]> = [];
    return { calls, onProgress: (phase: string, done: number, total: number) => void calls.push([phase, done, total]) };
  };
  /** The checkpoints pruning should have left: each signed over its fields, made between `from` and `to`. */
  const expectCheckpoints = async (expected: Array<[seq: number, hash: string, prunedCount: number, prunedBefore: Date]>, from: Date, to: Date) => {
    const checkpoints = await readCheckpoints(t.db);
    expect(checkpoints).toEqual(
      expected.map(([seq, hash, prunedCount, prunedBefore]) => ({
        seq,
        hash,
        prunedCount,
        prunedBefore,
        createdAt: expect.any(Date),
        signature: expect.any(String),
      })),
    );
    for (const { signature, ...signed } of checkpoints) {
      expect(signed.createdAt.getTime()).toBeGreaterThanOrEqual(from.getTime());
      expect(signed.createdAt.getTime()).toBeLessThanOrEqual(to.getTime());
      expect(signature).toBe(checkpointSignature(key, signed));
    }
  };

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t?.drop());
  beforeEach(() => emptyAuditLog(t.db));

  describe('planning', () => {
    it('plans nothing on an empty log', async () => {
      const before = at('2021-01-01T00:00:00Z');
      expect(await plan(before)).toEqual({ before, fromSeq: 1, throughSeq: 0, records: 0, conflicts: [] });
    });

    it('takes the records recorded before the cut-off, not one recorded at it, to the millisecond', async () => {
      const cutOff = at('2020-06-01T00:00:00Z');
      await append([record(ms(cutOff, -1)), record(cutOff), record(ms(cutOff, 1))]);
      const expected = (before: Date, throughSeq: number): PrunePlan => ({ before, fromSeq: 1, throughSeq, records: throughSeq, conflicts: [] });
      expect(await plan(ms(cutOff, -1))).toEqual(expected(ms(cutOff, -1), 0));
      expect(await plan(cutOff)).toEqual(expected(cutOff, 1));
      expect(await plan(ms(cutOff, 1))).toEqual(expected(ms(cutOff, 1), 2));
      expect(await plan(ms(cutOff, 2))).toEqual(expected(ms(cutOff, 2), 3));
    });

    it('stops at the first record, in chain order, recorded at or after the cut-off, even when older ones follow', async () => {
      await append([record(at('2020-03-01T00:00:00Z')), record(at('2020-02-01T00:00:00Z')), record(at('2020-01-01T00:00:00Z'))]);
      expect(await plan(at('2020-02-15T00:00:00Z'))).toMatchObject({ fromSeq: 1, throughSeq: 0, records: 0 });
      expect(await plan(at('2020-03-02T00:00:00Z'))).toMatchObject({ fromSeq: 1, throughSeq: 3, records: 3 });
    });

    it('starts after the latest checkpoint', async () => {
      await appendDays(5);
      // Three checkpoints: the latest is neither the first nor the second.
      await pruneAuditLog(t.db, key, await plan(at('2020-01-04T00:00:00Z')), { actor, batchSize: 1 });
      expect((await readCheckpoints(t.db)).map((c) => c.seq)).toEqual([1, 2, 3]);
      const before = at('2020-01-06T00:00:00Z');
      expect(await plan(before)).toEqual({ before, fromSeq: 4, throughSeq: 5, records: 2, conflicts: [] });
      // Record 6 is the first prune's own, recorded now: at or after any cut-off in the past.
      expect(await plan(at('2020-01-05T00:00:00Z'))).toMatchObject({ fromSeq: 4, throughSeq: 4, records: 1 });
      expect(await plan(at('2020-01-01T00:00:00Z'))).toMatchObject({ fromSeq: 4, throughSeq: 3, records: 0 });
    });

    it('reports each group of records a retention period still covers, by its newest record, the one kept longest first', async () => {
      await append([
        record(at('2020-01-01T00:00:00Z'), ['AA']),
        record(at('2020-02-01T00:00:00Z'), ['AA']),
        record(at('2020-03-01T00:00:00Z'), ['CC']),
        record(at('2020-04-01T00:00:00Z'), []),
        record(at('2020-05-01T00:00:00Z'), ['AA', 'ZZ']),
        record(at('2020-06-01T00:00:00Z'), ['BB', 'AA']),
        record(at('2020-06-02T00:00:00Z'), ['CC']),
      ]);
      const before = at('2020-06-02T00:00:00Z');
      // The AA records were kept until 2021-01-31 (2020 has a 29 February): past by now.
      expect(await plan(before, at('2021-06-01T00:00:00Z'))).toEqual({
        before,
        fromSeq: 1,
        throughSeq: 6,
        records: 6,
        conflicts: [
          { jurisdictions: ['AA', 'BB'], records: 1, newest: at('2020-06-01T00:00:00Z'), keepUntil: at('2023-06-01T00:00:00Z'), retention: B },
          { jurisdictions: ['AA', 'ZZ'], records: 1, newest: at('2020-05-01T00:00:00Z'), keepUntil: at('2023-05-01T00:00:00Z'), retention: B },
          { jurisdictions: [], records: 1, newest: at('2020-04-01T00:00:00Z'), keepUntil: at('2023-04-01T00:00:00Z'), retention: B },
          { jurisdictions: ['CC'], records: 1, newest: at('2020-03-01T00:00:00Z'), keepUntil: at('2022-03-01T00:00:00Z'), retention: C },
        ],
      });
      expect((await plan(before, at('2021-01-30T00:00:00Z'))).conflicts.at(-1)).toEqual({
        jurisdictions: ['AA'],
        records: 2,
        newest: at('2020-02-01T00:00:00Z'),
        keepUntil: at('2021-01-31T00:00:00Z'),
        retention: A,
      });
    });

    it('covers records until exactly their period has passed since the newest of them', async () => {
      const newest = at('2020-01-10T00:00:00Z');
      await append([record(at('2020-01-01T00:00:00Z')), record(newest)]);
      const keepUntil = ms(newest, 365 * DAY_MS);
      const before = at('2020-02-01T00:00:00Z');
      expect((await plan(before, keepUntil)).conflicts).toEqual([]);
      expect((await plan(before, ms(keepUntil, -1))).conflicts).toEqual([{ jurisdictions: ['AA'], records: 2, newest, keepUntil, retention: A }]);
    });

    it('judges retention at the present moment unless told another', async () => {
      const recent = ms(new Date(), -DAY_MS);
      await append([record(recent)]);
      const before = ms(recent, 1);
      expect((await planPrune(t.db, { before, policy })).conflicts).toEqual([
        { jurisdictions: ['AA'], records: 1, newest: recent, keepUntil: ms(recent, 365 * DAY_MS), retention: A },
      ]);
      expect((await plan(before, LATER)).conflicts).toEqual([]);
    });
  });

  describe('carrying out a plan', () => {
    it('prunes in batches of the given size, each leaving a signed checkpoint of its last record, and audits the prune', async () => {
      await appendDays(5);
      const written = await hashes();
      const before = at('2021-01-01T00:00:00Z');
      const { calls, onProgress } = progress();
      const started = new Date();
      const result = await pruneAuditLog(t.db, key, await plan(before), { actor, batchSize: 2, onProgress });
      const finished = new Date();

      expect(result).toEqual({ pruned: 5, prunedThrough: 5, auditSeq: 6 });
      expect(calls).toEqual([
        ['verifying', 5, 5],
        ['pruning', 2, 5],
        ['pruning', 4, 5],
        ['pruning', 5, 5],
      ]);
      await expectCheckpoints(
        [
          [2, written.get(2)!, 2, before],
          [4, written.get(4)!, 2, before],
          [5, written.get(5)!, 1, before],
        ],
        started,
        finished,
      );
      expect(await count('SELECT count(*) AS n FROM audit_subjects')).toBe(0);
      expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(1);
      expect(await verifyAuditChain(t.db, key)).toEqual({ ok: true, checked: 1, headSeq: 6, prunedThrough: 5, bad: [] });

      const audit = recordFromRow((await t.db.query<AuditRow>('SELECT * FROM audit_log WHERE seq = 6')).rows[0]!);
      expect(audit).toEqual({
        seq: 6,
        recordedAt: expect.any(Date),
        requestId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        actorKind: 'cli',
        actorId: 'ops',
        onBehalfOf: null,
        purpose: null,
        actorLocation: null,
        operationKind: 'audit_prune',
        operationName: null,
        operationHash: null,
        decision: 'allowed',
        code: null,
        reason: null,
        tables: ['audit_log', 'audit_subjects'],
        fields: [],
        rowCount: 5,
        subjectCount: 0,
        subjectsDigest: subjectsDigest([]),
        jurisdictions: [],
        privacyCost: null,
        findings: [],
        details: { before: '2021-01-01T00:00:00.000Z', prunedFrom: 1, prunedThrough: 5, retentionOverridden: [] },
        prevHash: written.get(5),
        hash: expect.any(String),
      });
      expect(audit.recordedAt.getTime()).toBeGreaterThanOrEqual(started.getTime());
      expect(audit.recordedAt.getTime()).toBeLessThanOrEqual(finished.getTime());
    });

    it.each([
      [1, [1, 2, 3, 4, 5]],
      [4, [4, 5]],
      [5, [5]],
      [6, [5]],
    ])('with batches of %i records, checkpoints at %j', async (batchSize, seqs) => {
      await appendDays(5);
      const { calls, onProgress } = progress();
      expect(await pruneAuditLog(t.db, key, await plan(at('2021-01-01T00:00:00Z')), { actor, batchSize, onProgress })).toEqual({
        pruned: 5,
        prunedThrough: 5,
        auditSeq: 6,
      });
      expect((await readCheckpoints(t.db)).map((c) => c.seq)).toEqual(seqs);
      expect(calls).toEqual([['verifying', 5, 5], ...seqs.map((seq) => ['pruning', seq, 5])]);
      expect((await verifyAuditChain(t.db, key)).ok).toBe(true);
    });

    it('continues from the latest checkpoint, and audits where it started', async () => {
      await appendDays(4);
      const started = new Date();
      const written = await hashes();
      const first = at('2020-01-03T00:00:00Z');
      await pruneAuditLog(t.db, key, await plan(first), { actor });
      const before = at('2020-01-05T00:00:00Z');
      expect(await pruneAuditLog(t.db, key, await plan(before), { actor })).toEqual({ pruned: 2, prunedThrough: 4, auditSeq: 6 });
      await expectCheckpoints(
        [
          [2, written.get(2)!, 2, first],
          [4, written.get(4)!, 2, before],
        ],
        started,
        new Date(),
      );
      const details = (await t.db.query<{ details: unknown }>('SELECT details FROM audit_log WHERE seq = 6')).rows[0]!.details;
      expect(details).toEqual({ before: '2020-01-05T00:00:00.000Z', prunedFrom: 3, prunedThrough: 4, retentionOverridden: [] });
      expect(await verifyAuditChain(t.db, key)).toEqual({ ok: true, checked: 2, headSeq: 6, prunedThrough: 4, bad: [] });
    });

    it(`prunes ${DEFAULT_PRUNE_BATCH} records a batch unless told otherwise`, async () => {
      expect(DEFAULT_PRUNE_BATCH).toBe(5_000);
      await append(Array.from({ length: DEFAULT_PRUNE_BATCH + 1 }, () => record(at('2020-01-01T00:00:00Z'), [])));
      const { calls, onProgress } = progress();
      const result = await pruneAuditLog(t.db, key, await plan(at('2021-01-01T00:00:00Z')), { actor, onProgress });
      expect(result).toEqual({ pruned: 5_001, prunedThrough: 5_001, auditSeq: 5_002 });
      expect((await readCheckpoints(t.db)).map((c) => [c.seq, c.prunedCount])).toEqual([
        [5_000, 5_000],
        [5_001, 1],
      ]);
      // Verification reports once per page of 2000 records read.
      expect(calls).toEqual([
        ['verifying', 2_000, 5_001],
        ['verifying', 4_000, 5_001],
        ['verifying', 5_001, 5_001],
        ['pruning', 5_000, 5_001],
        ['pruning', 5_001, 5_001],
      ]);
    });

    it('prunes nothing, leaving no checkpoint and no audit record, when the plan is empty', async () => {
      const { calls, onProgress } = progress();
      expect(await pruneAuditLog(t.db, key, await plan(at('2021-01-01T00:00:00Z')), { actor, onProgress })).toEqual({
        pruned: 0,
        prunedThrough: 0,
        auditSeq: null,
      });
      expect(calls).toEqual([]);

      await appendDays(3);
      const headBefore = await head();
      expect(await pruneAuditLog(t.db, key, await plan(at('2019-01-01T00:00:00Z')), { actor, onProgress })).toEqual({
        pruned: 0,
        prunedThrough: 0,
        auditSeq: null,
      });
      expect(calls).toEqual([['verifying', 3, 3]]);
      expect(await head()).toEqual(headBefore);
      expect(await readCheckpoints(t.db)).toEqual([]);

      await pruneAuditLog(t.db, key, await plan(at('2020-01-03T00:00:00Z')), { actor });
      expect(await pruneAuditLog(t.db, key, await plan(at('2019-01-01T00:00:00Z')), { actor })).toEqual({ pruned: 0, prunedThrough: 2, auditSeq: null });
    });

    it('audits only what it deleted itself when another pruner took the start of its plan', async () => {
      await appendDays(4);
      const mine = await plan(at('2020-01-05T00:00:00Z'));
      await pruneAuditLog(t.db, key, await plan(at('2020-01-03T00:00:00Z')), { actor });
      expect(await pruneAuditLog(t.db, key, mine, { actor })).toEqual({ pruned: 2, prunedThrough: 4, auditSeq: 6 });
      const details = (await t.db.query<{ details: unknown }>('SELECT details FROM audit_log WHERE seq = 6')).rows[0]!.details;
      expect(details).toEqual({ before: '2020-01-05T00:00:00.000Z', prunedFrom: 3, prunedThrough: 4, retentionOverridden: [] });
    });

    it('prunes nothing more with a plan already carried out', async () => {
      await appendDays(3);
      const done = await plan(at('2021-01-01T00:00:00Z'));
      await pruneAuditLog(t.db, key, done, { actor });
      const checkpoints = await readCheckpoints(t.db);
      const headBefore = await head();
      expect(await pruneAuditLog(t.db, key, done, { actor })).toEqual({ pruned: 0, prunedThrough: 3, auditSeq: null });
      expect(await readCheckpoints(t.db)).toEqual(checkpoints);
      expect(await head()).toEqual(headBefore);
    });

    it('refuses, pruning nothing, while a retention period covers records, naming each', async () => {
      await append([record(at('2019-12-01T00:00:00Z'), ['CC']), record(at('2020-01-01T00:00:00Z'), ['CC']), record(at('2020-02-01T00:00:00Z'), [])]);
      const covered = await plan(at('2021-01-01T00:00:00Z'), at('2021-06-01T00:00:00Z'));
      const lines = [
        '1 records naming no data subject (B, B rule: 1095 days) must be kept until 2023-01-31',
        '2 records about CC subjects (C, C rule: 730 days) must be kept until 2021-12-31',
      ];
      expect(describeConflicts(covered.conflicts)).toEqual(lines);
      const { calls, onProgress } = progress();
      const error = await rejection(pruneAuditLog(t.db, key, covered, { actor, onProgress }));
      expect(error).toBeInstanceOf(PruneRefusedError);
      expect(error).toMatchObject({
        name: 'PruneRefusedError',
        overridable: true,
        message: `retention periods still cover records before 2021-01-01T00:00:00.000Z: ${lines.join('; ')}`,
      });
      expect(calls).toEqual([]);
      expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(3);
      expect(await count('SELECT count(*) AS n FROM audit_subjects')).toBe(2);
      expect(await readCheckpoints(t.db)).toEqual([]);

      expect(await pruneAuditLog(t.db, key, covered, { actor, force: true })).toEqual({ pruned: 3, prunedThrough: 3, auditSeq: 4 });
      const details = (await t.db.query<{ details: unknown }>('SELECT details FROM audit_log WHERE seq = 4')).rows[0]!.details;
      expect(details).toEqual({ before: '2021-01-01T00:00:00.000Z', prunedFrom: 1, prunedThrough: 3, retentionOverridden: lines });
    });

    it('refuses a chain that does not verify, even forced: a prune must not bury tampering', async () => {
      await appendDays(3);
      await t.db.query("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2");
      const before = await plan(at('2021-01-01T00:00:00Z'));
      for (const force of [false, true]) {
        const error = await rejection(pruneAuditLog(t.db, key, before, { actor, force }));
        expect(error).toBeInstanceOf(PruneRefusedError);
        expect(error).toMatchObject({
          name: 'PruneRefusedError',
          overridable: false,
          message: 'the audit chain is broken at record 2 (changed): record 2 was modified after it was written; nothing was pruned',
        });
      }
      expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(3);
      expect(await readCheckpoints(t.db)).toEqual([]);
    });

    it.each([
      ['the last record of a batch', 4],
      ['a record inside a batch', 3],
    ])('refuses a batch when %s vanished after verification, keeping the batches done', async (_, vanished) => {
      await appendDays(4);
      const written = await hashes();
      // Between the first batch and the second, as another hand on the table would.
      const vanish = () => t.db.exec(`DELETE FROM audit_subject_lists WHERE audit_seq = ${vanished}; DELETE FROM audit_log WHERE seq = ${vanished}`);
      const error = await rejection(pruneAuditLog(beforeTransaction(t.db, 2, vanish), key, await plan(at('2021-01-01T00:00:00Z')), { actor, batchSize: 2 }));
      expect(error).toBeInstanceOf(PruneRefusedError);
      expect(error).toMatchObject({
        name: 'PruneRefusedError',
        overridable: false,
        message: 'records 3..4 are not all present: the chain changed during the prune; verify it',
      });
      expect((await readCheckpoints(t.db)).map((c) => [c.seq, c.hash])).toEqual([[2, written.get(2)]]);
      const left = (await t.db.query<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq')).rows.map((r) => Number(r.seq));
      expect(left).toEqual([3, 4].filter((seq) => seq !== vanished));
      expect(await count('SELECT count(*) AS n FROM audit_subjects')).toBe(1);
      expect((await head()).seq).toBe(4);
    });

    it('holds the checkpoints exclusively from the first statement of each batch, so two pruners never overlap', async () => {
      await appendDays(3);
      const locks: string[][] = [];
      await pruneAuditLog(observingLocks(t.db, locks), key, await plan(at('2021-01-01T00:00:00Z')), { actor, batchSize: 2 });
      // The last transaction appends the prune's audit record, under the head's lock only.
      expect(locks).toEqual([['ExclusiveLock'], ['ExclusiveLock'], []]);
    });
  });
});

/** The database, running `action` just before its `nth` transaction. */
function beforeTransaction(db: Db, nth: number, action: () => Promise<void>): Db {
  let started = 0;
  return {
    ...db,
    transaction: async <T>(fn: (tx: Queryable) => Promise<T>) => {
      started += 1;
      if (started === nth) await action();
      return db.transaction(fn);
    },
  };
}

/** The database, noting in `locks` which locks on audit_checkpoints each transaction holds after its first statement. */
function observingLocks(db: Db, locks: string[][]): Db {
  return {
    ...db,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      db.transaction(async (tx) => {
        let first = true;
        return fn({
          async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
            const result = await tx.query<R>(text, params);
            if (first) {
              first = false;
              const held = await tx.query<{ mode: string }>(
                "SELECT mode FROM pg_locks WHERE relation = 'audit_checkpoints'::regclass AND granted ORDER BY mode",
              );
              locks.push(held.rows.map((row) => row.mode));
            }
            return result;
          },
        });
      }),
  };
}
