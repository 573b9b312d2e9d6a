import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditDraft, type AuditRow, recordFromRow, verifyAuditChain } from '../../src/audit/index.ts';
import { AuditBatcher, type AuditBatcherOptions, keepDrafts, type SettleDrafts } from '../../src/audit/batcher.ts';
import type { LogEvent } from '../../src/log.ts';
import { DatabaseError, migrate } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const KEY = randomBytes(32);
/** What a batch fails with while the log refuses writes: one object, so each caller's rejection can be told to be it. */
const LOG_DOWN = new Error('the audit log refuses writes');
/** Longer than any test: kept refusals are then written only when a test flushes. */
const NEVER = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const draft = (requestId: string, overrides: Partial<AuditDraft> = {}) => auditDraft({ requestId, ...overrides });
const refused = (requestId: string, code = 'DATABASE_UNAVAILABLE') => draft(requestId, { decision: 'denied', code });

/** A settle hook that notes the request ids of each batch it settles and, while `down`, fails as a log refusing writes would. */
class WatchedLog {
  down = false;
  readonly batches: string[][] = [];
  readonly settle: SettleDrafts = async (_tx, drafts) => {
    this.batches.push(drafts.map((d) => d.requestId));
    if (this.down) throw LOG_DOWN;
    return [...drafts];
  };
}

describe('AuditBatcher: group commit of audit records', { timeout: 15_000 }, () => {
  let t: TestDatabase;
  let started: AuditBatcher[] = [];
  /** A batcher the test's end stops, so that no retry timer of one test writes into the next one's log. */
  const batcher = (options: AuditBatcherOptions) => {
    const b = new AuditBatcher(t.db, KEY, options);
    started.push(b);
    return b;
  };
  const stored = async () => (await t.db.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq')).rows.map(recordFromRow);
  const recorded = async () =>
    (await t.db.query<{ request_id: string; decision: string; code: string | null }>('SELECT request_id, decision, code FROM audit_log ORDER BY seq')).rows;
  const recordedIds = async () => (await recorded()).map((row) => row.request_id);
  const head = async () => (await t.db.query('SELECT seq, hash FROM audit_head')).rows;
  const verify = () => verifyAuditChain(t.db, KEY);
  const intact = (records: number) => ({ ok: true, checked: records, headSeq: records, prunedThrough: 0, bad: [] });

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t.drop());
  beforeEach(async () => {
    await emptyAuditLog(t.db);
  });
  afterEach(() => {
    for (const b of started) b.stop();
    started = [];
  });

  describe('batching', () => {
    it('records appended while a batch is written are committed together in the next one, in the order appended', async () => {
      const watch = new WatchedLog();
      const b = batcher({ settle: watch.settle });
      const drafts = ['a', 'b', 'c', 'd'].map((id, i) => draft(id, { subjects: new Map([[`customer:${i}`, i % 2 ? 'DE' : null]]) }));
      const records = await Promise.all(drafts.map((d) => b.append(d)));
      expect(watch.batches).toEqual([['a'], ['b', 'c', 'd']]);
      expect(records.map((r) => [r.seq, r.requestId])).toEqual([
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [4, 'd'],
      ]);
      expect(records.map((r) => r.prevHash)).toEqual(['genesis', ...records.slice(0, -1).map((r) => r.hash)]);
      // Each caller holds its own record exactly as the log keeps it.
      expect(await stored()).toEqual(records);
      expect(await verify()).toEqual(intact(4));
    });

    it('a batch holds at most maxBatch records: maxBatch waiting make one batch, one more makes two', async () => {
      const watch = new WatchedLog();
      const b = batcher({ maxBatch: 3, settle: watch.settle });
      await Promise.all(['p', 'a1', 'a2', 'a3'].map((id) => b.append(draft(id))));
      expect(watch.batches).toEqual([['p'], ['a1', 'a2', 'a3']]);
      await Promise.all(['q', 'b1', 'b2', 'b3', 'b4'].map((id) => b.append(draft(id))));
      expect(watch.batches.slice(2)).toEqual([['q'], ['b1', 'b2', 'b3'], ['b4']]);
      expect(await recordedIds()).toEqual(['p', 'a1', 'a2', 'a3', 'q', 'b1', 'b2', 'b3', 'b4']);
    });

    it('without maxBatch, a batch holds at most 256 records', async () => {
      const watch = new WatchedLog();
      const b = batcher({ settle: watch.settle });
      const ids = Array.from({ length: 258 }, (_, i) => `r${i}`);
      const records = await Promise.all(ids.map((id) => b.append(draft(id))));
      expect(watch.batches.map((batch) => batch.length)).toEqual([1, 256, 1]);
      expect(watch.batches.flat()).toEqual(ids);
      expect(records.map((r) => r.requestId)).toEqual(ids);
    });

    it('with no options at all, every draft is recorded as drafted', async () => {
      const b = new AuditBatcher(t.db, KEY);
      started.push(b);
      const records = await Promise.all([b.append(draft('a')), b.append(refused('b', 'FORBIDDEN'))]);
      expect(records.map((r) => [r.requestId, r.decision, r.code])).toEqual([
        ['a', 'allowed', null],
        ['b', 'denied', 'FORBIDDEN'],
      ]);
      expect(await stored()).toEqual(records);
    });

    it('the chain stays valid when two batchers append concurrently', async () => {
      const one = batcher({ maxBatch: 4 });
      const two = batcher({ maxBatch: 3 });
      const drafts = Array.from({ length: 30 }, (_, i) => draft(`r${i}`, { subjects: new Map([[`customer:${i % 4}`, i % 3 ? 'DE' : null]]) }));
      const records = await Promise.all(drafts.map((d, i) => (i % 2 ? one : two).append(d)));
      expect(records.map((r) => r.requestId)).toEqual(drafts.map((d) => d.requestId));
      expect(records.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await stored()).toEqual([...records].sort((x, y) => x.seq - y.seq));
      expect(await verify()).toEqual(intact(30));
    });
  });

  describe('settle', () => {
    it('keepDrafts settles nothing: a copy of the drafts, the same drafts in the same order', async () => {
      const drafts = [draft('a'), draft('b')];
      const kept = await keepDrafts(t.db, drafts);
      expect(kept).toEqual(drafts);
      expect(kept).not.toBe(drafts);
      expect(kept[0]).toBe(drafts[0]);
      expect(kept[1]).toBe(drafts[1]);
    });

    it('settle has the last word: a draft it turns into a denial is recorded, and answered, as that denial', async () => {
      const settle: SettleDrafts = async (_tx, drafts) =>
        drafts.map((d) => (d.requestId === 'revoked' ? { ...d, decision: 'denied', code: 'AGENT_REVOKED', reason: 'revoked meanwhile' } : d));
      const b = batcher({ settle });
      const [kept, revoked] = await Promise.all([b.append(draft('kept')), b.append(draft('revoked'))]);
      expect([kept!.decision, kept!.code, kept!.reason]).toEqual(['allowed', null, null]);
      expect([revoked!.decision, revoked!.code, revoked!.reason]).toEqual(['denied', 'AGENT_REVOKED', 'revoked meanwhile']);
      expect(await stored()).toEqual([kept, revoked]);
      expect(await verify()).toEqual(intact(2));
    });

    it('a settle hook that throws fails its whole batch: every caller rejected with its error, nothing written', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const b = batcher({ settle: watch.settle, retryMs: NEVER });
      const results = await Promise.allSettled(['a', 'b', 'c'].map((id) => b.append(draft(id))));
      expect(watch.batches).toEqual([['a'], ['b', 'c']]);
      expect(results).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: LOG_DOWN })));
      expect(results.every((r) => r.status === 'rejected' && r.reason === LOG_DOWN)).toBe(true);
      expect(await recorded()).toEqual([]);
      expect(await head()).toEqual([{ seq: 0, hash: 'genesis' }]);
    });

    // Known bug (reported): the batcher trusts settle's contract (same length, same order) without checking it, so a hook
    // that drops a draft answers the caller after it with a record that is not theirs, and the last caller with none.
    it('a settle hook that drops a draft fails its batch: no caller is answered with a record that is not its own', async () => {
      const settle: SettleDrafts = async (_tx, drafts) => drafts.filter((d) => d.requestId !== 'dropped');
      const b = batcher({ settle, retryMs: NEVER });
      const [first, dropped, kept] = await Promise.allSettled([b.append(draft('first')), b.append(draft('dropped')), b.append(draft('kept'))]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { requestId: 'first' } });
      const message = 'settling 2 audit drafts gave 1: the batch is not recorded';
      expect(dropped).toMatchObject({ status: 'rejected', reason: { message } });
      expect(kept).toMatchObject({ status: 'rejected', reason: { message } });
      expect(await recordedIds()).toEqual(['first']);
    });
  });

  describe('a batch the database refuses', () => {
    it('a commit refused after the rows were inserted rejects every caller of the batch and leaves no row of it', async () => {
      // Raised at COMMIT, by a deferred check on the log: the batch's log, subject and head rows are all written by then.
      await t.db.exec(`
        CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'commit refused after % rows and % subjects', (SELECT count(*) FROM audit_log), (SELECT count(*) FROM audit_subjects); END $$;
        CREATE CONSTRAINT TRIGGER refused_at_commit AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();
      `);
      let results: PromiseSettledResult<unknown>[];
      try {
        const b = batcher({ retryMs: NEVER });
        results = await Promise.allSettled(['a', 'b', 'c'].map((id, i) => b.append(draft(id, { subjects: new Map([[`customer:${i}`, 'DE']]) }))));
      } finally {
        await t.db.exec('DROP TRIGGER refused_at_commit ON audit_log; DROP FUNCTION refuse_commit()');
      }
      const reasons = results.map((r) => (r.status === 'rejected' ? r.reason : r));
      expect(reasons.map((r) => r instanceof DatabaseError && r.message)).toEqual([
        'commit refused after 1 rows and 1 subjects',
        'commit refused after 2 rows and 2 subjects',
        'commit refused after 2 rows and 2 subjects',
      ]);
      expect(reasons[1]).toBe(reasons[2]);
      expect(await recorded()).toEqual([]);
      expect((await t.db.query('SELECT * FROM audit_subjects')).rows).toEqual([]);
      expect(await head()).toEqual([{ seq: 0, hash: 'genesis' }]);
    });

    it('a record the database refuses sinks its own batch only: the batches before and after it commit, the chain unbroken', async () => {
      await t.db.exec("ALTER TABLE audit_log ADD CONSTRAINT no_poison CHECK (request_id <> 'poison') NOT VALID");
      const watch = new WatchedLog();
      let results: PromiseSettledResult<unknown>[];
      try {
        const b = batcher({ settle: watch.settle, retryMs: NEVER });
        const first = b.append(draft('first'));
        // Appended once `first` has committed, while the batch after it is being written: it makes a third batch.
        const after = first.then(() => b.append(draft('after')));
        results = await Promise.allSettled([first, b.append(draft('good')), b.append(draft('poison')), after]);
      } finally {
        await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT no_poison');
      }
      expect(watch.batches).toEqual([['first'], ['good', 'poison'], ['after']]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      const [, good, poison] = results as PromiseRejectedResult[];
      expect(good!.reason).toBeInstanceOf(DatabaseError);
      expect(good!.reason.message).toContain('no_poison');
      expect(poison!.reason).toBe(good!.reason);
      expect(await recordedIds()).toEqual(['first', 'after']);
      expect(await verify()).toEqual(intact(2));
    });
  });

  describe('refusals recorded late', () => {
    it("a failed batch's refusals (denied, error) are written once the log takes records again; its allowed and pending drafts never are", async () => {
      const events: LogEvent[] = [];
      const b = batcher({ retryMs: NEVER, log: (event) => events.push(event) });
      await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
      let results: PromiseSettledResult<unknown>[];
      try {
        const drafts = [
          draft('allowed'),
          refused('denied', 'FORBIDDEN'),
          draft('error', { decision: 'error', code: 'INTERNAL' }),
          draft('pending', { decision: 'pending_approval', code: 'APPROVAL_REQUIRED' }),
        ];
        results = await Promise.allSettled(drafts.map((d) => b.append(d)));
      } finally {
        await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
      }
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      expect(await recorded()).toEqual([]);
      await b.flush();
      expect(await recorded()).toEqual([
        { request_id: 'denied', decision: 'denied', code: 'FORBIDDEN' },
        { request_id: 'error', decision: 'error', code: 'INTERNAL' },
      ]);
      expect(events).toEqual([{ level: 'warn', msg: 'audit records of refusals written late', count: 2 }]);
      expect(await verify()).toEqual(intact(2));
    });

    it('at most maxBacklog refusals are kept, one per request as first refused; one more is logged as unrecordable, with its error', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const events: LogEvent[] = [];
      const b = batcher({ maxBacklog: 2, retryMs: NEVER, settle: watch.settle, log: (event) => events.push(event) });
      // One at a time: each its own failed batch.
      for (const d of [refused('r1', 'FIRST'), refused('r1', 'LATER'), refused('r2'), refused('r3')]) await Promise.allSettled([b.append(d)]);
      expect(events).toEqual([
        { level: 'error', msg: 'audit record of a refusal unrecordable', requestId: 'r3', error: 'Error: the audit log refuses writes' },
      ]);
      watch.down = false;
      await b.flush();
      expect(await recorded()).toEqual([
        { request_id: 'r1', decision: 'denied', code: 'FIRST' },
        { request_id: 'r2', decision: 'denied', code: 'DATABASE_UNAVAILABLE' },
      ]);
      expect(events.slice(1)).toEqual([{ level: 'warn', msg: 'audit records of refusals written late', count: 2 }]);
    });

    it('without maxBacklog, 10,000 refusals are kept and the next one is logged as unrecordable', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const events: LogEvent[] = [];
      const b = batcher({ retryMs: NEVER, settle: watch.settle, log: (event) => events.push(event) });
      const ids = Array.from({ length: 10_001 }, (_, i) => `r${i}`);
      await Promise.allSettled(ids.map((id) => b.append(refused(id))));
      expect(events).toEqual([{ level: 'error', msg: 'audit record of a refusal unrecordable', requestId: 'r10000', error: String(LOG_DOWN) }]);
      b.stop();
      expect(events.slice(1)).toEqual([{ level: 'error', msg: 'audit records of refusals left unrecordable', requestIds: ids.slice(0, 10_000) }]);
    });

    it('flush writes the kept refusals at once, maxBatch at a time, in the order refused', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const events: LogEvent[] = [];
      const b = batcher({ maxBatch: 2, retryMs: NEVER, settle: watch.settle, log: (event) => events.push(event) });
      for (const id of ['r1', 'r2', 'r3']) await Promise.allSettled([b.append(refused(id))]);
      watch.down = false;
      await b.flush();
      expect(watch.batches.slice(3)).toEqual([['r1', 'r2'], ['r3']]);
      expect(events).toEqual([
        { level: 'warn', msg: 'audit records of refusals written late', count: 2 },
        { level: 'warn', msg: 'audit records of refusals written late', count: 1 },
      ]);
      expect(await recordedIds()).toEqual(['r1', 'r2', 'r3']);
      // Written: nothing is left for a later flush.
      await b.flush();
      expect(watch.batches).toHaveLength(5);
    });

    it('a kept refusal is written retryMs after its failure, without any flush', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const b = batcher({ retryMs: 400, settle: watch.settle });
      await Promise.allSettled([b.append(refused('r1'))]);
      watch.down = false;
      await sleep(200);
      expect(await recorded()).toEqual([]);
      await sleep(600);
      expect(await recordedIds()).toEqual(['r1']);
    });

    it('without retryMs, a kept refusal is retried one second after its failure, not on a timer a failure before it left', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const b = batcher({ settle: watch.settle });
      // A failed batch of allowed drafts keeps nothing, so it must leave no timer behind.
      await Promise.allSettled([b.append(draft('allowed'))]);
      await sleep(500);
      await Promise.allSettled([b.append(refused('r1'))]);
      watch.down = false;
      await sleep(750);
      expect(await recorded()).toEqual([]);
      await sleep(650);
      expect(await recordedIds()).toEqual(['r1']);
      expect(watch.batches).toEqual([['allowed'], ['r1'], ['r1']]);
    });

    // Known bug (reported): on an empty backlog retryBacklog's async body runs to its end, `finally` included, before
    // `??=` stores its promise, so `retrying` keeps a settled promise for good: no timer is scheduled and no flush retries.
    it('after a flush with nothing kept, a refusal that fails later is still written late', async () => {
      const watch = new WatchedLog();
      const b = batcher({ retryMs: 200, settle: watch.settle });
      await b.flush();
      watch.down = true;
      await Promise.allSettled([b.append(refused('r1'))]);
      watch.down = false;
      await b.flush();
      expect(await recordedIds()).toEqual(['r1']);
    });

    it('a late write that fails again is tried again retryMs later', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const events: LogEvent[] = [];
      const b = batcher({ retryMs: 400, settle: watch.settle, log: (event) => events.push(event) });
      await Promise.allSettled([b.append(refused('r1'))]);
      await sleep(600);
      expect(watch.batches).toEqual([['r1'], ['r1']]);
      watch.down = false;
      await sleep(600);
      expect(watch.batches).toEqual([['r1'], ['r1'], ['r1']]);
      expect(await recordedIds()).toEqual(['r1']);
      expect(events).toEqual([{ level: 'warn', msg: 'audit records of refusals written late', count: 1 }]);
    });
  });

  describe('flush and stop', () => {
    it('flush resolves only once every record appended before it has been committed and answered', async () => {
      const b = batcher({});
      const answered: string[] = [];
      const appends = ['a', 'b', 'c'].map((id) => b.append(draft(id)).then(() => answered.push(id)));
      await b.flush();
      expect(answered).toEqual(['a', 'b', 'c']);
      expect(await recordedIds()).toEqual(['a', 'b', 'c']);
      await Promise.all(appends);
    });

    it('stop logs the refusals still kept, by request id, and gives up on them', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const events: LogEvent[] = [];
      const b = batcher({ retryMs: NEVER, settle: watch.settle, log: (event) => events.push(event) });
      await Promise.allSettled([b.append(refused('r1')), b.append(refused('r2'))]);
      b.stop();
      expect(events).toEqual([{ level: 'error', msg: 'audit records of refusals left unrecordable', requestIds: ['r1', 'r2'] }]);
      watch.down = false;
      await b.flush();
      expect(await recorded()).toEqual([]);
      expect(events).toHaveLength(1);
    });

    it('stop with no refusal kept logs nothing', async () => {
      const events: LogEvent[] = [];
      const b = batcher({ log: (event) => events.push(event) });
      await b.append(refused('r1'));
      b.stop();
      expect(events).toEqual([]);
    });

    it('a batcher given no log stops quietly with refusals still kept', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const b = batcher({ retryMs: NEVER, settle: watch.settle });
      await Promise.allSettled([b.append(refused('r1'))]);
      expect(() => b.stop()).not.toThrow();
    });

    it('after stop no refusal is written late by a timer, not even one whose batch fails after it', async () => {
      const watch = new WatchedLog();
      watch.down = true;
      const b = batcher({ retryMs: 400, settle: watch.settle });
      // Two failures before stop: the second must not have left a timer of its own that stop does not know of.
      await Promise.allSettled([b.append(refused('r1'))]);
      await Promise.allSettled([b.append(refused('r2'))]);
      b.stop();
      await Promise.allSettled([b.append(refused('r3'))]);
      watch.down = false;
      await sleep(800);
      expect(watch.batches).toEqual([['r1'], ['r2'], ['r3']]);
      expect(await recorded()).toEqual([]);
    });
  });
});
