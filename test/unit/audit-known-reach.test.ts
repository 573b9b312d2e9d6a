import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditDraft, appendAuditRecords, knownReach } from '../../src/audit/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const key = randomBytes(32);
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 28, 12);

/** A record of `agent` at `location` about these customers (all of jurisdiction SG but the odd ones, of none), on day `day`. */
const reachDraft = (day: number, agent: string, location: string | null, customers: number[]): AuditDraft =>
  auditDraft({
    recordedAt: new Date(START + day * DAY),
    actorId: agent,
    actorLocation: location,
    subjects: new Map(customers.map((c) => [`customer:${c}`, c % 2 === 0 ? 'SG' : null])),
  });

describe.each(ENGINES)('reach keys a broker remembers ($engine)', ({ create }) => {
  let t: TestDatabase;
  /** One broker's batch: its memory learns only once the transaction has committed. */
  const append = async (memory: ReturnType<typeof knownReach> | undefined, drafts: readonly AuditDraft[], fail = false) => {
    const reach = memory?.scope();
    await t.db.transaction(async (tx) => {
      await appendAuditRecords(tx, key, drafts, undefined, reach);
      if (fail) throw new Error('rolled back on purpose');
    });
    reach?.commit();
  };
  const reachTable = async () =>
    (await t.db.query('SELECT subject, actor_kind, actor_id, actor_location, jurisdiction, last_day::text FROM audit_subject_reach ORDER BY 1, 2, 3, 4, 5'))
      .rows;
  /** audit_subject_reach as the log says it must be: every subject each actor received, with the last day. */
  const reachFromLog = async () =>
    (
      await t.db.query(`
        SELECT s.subject, a.actor_kind, coalesce(a.actor_id, '') AS actor_id, coalesce(a.actor_location, '') AS actor_location,
               coalesce(s.jurisdiction, '') AS jurisdiction, max((a.recorded_at AT TIME ZONE 'UTC')::date)::text AS last_day
          FROM audit_subject_lists l JOIN audit_log a ON a.seq = l.audit_seq CROSS JOIN LATERAL unnest(l.subjects, l.jurisdictions) AS s (subject, jurisdiction)
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`)
    ).rows;

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
  });
  afterAll(async () => t?.drop());
  beforeEach(async () => emptyAuditLog(t.db));

  it('two brokers and a writer without memory keep exactly the rows the log implies, each subject once per key', async () => {
    const [first, second] = [knownReach(), knownReach()];
    await append(first, [reachDraft(0, 'support-bot', 'SG', [1, 2, 3]), reachDraft(0, 'support-bot', 'SG', [2, 3, 4])]);
    await append(second, [reachDraft(0, 'support-bot', 'SG', [1, 2, 5]), reachDraft(1, 'support-bot', 'SG', [2])]);
    // The first broker still remembers customer 2 at day 0: it must move the row to day 2 all the same.
    await append(first, [reachDraft(2, 'support-bot', 'SG', [2, 3]), reachDraft(0, 'fraud-bot', null, [2])]);
    await append(undefined, [reachDraft(3, 'support-bot', 'SG', [1]), reachDraft(1, 'support-bot', 'SG', [4])]);
    await append(second, [reachDraft(1, 'support-bot', 'SG', [1, 3, 5])]);
    const rows = await reachTable();
    expect(rows).toEqual(await reachFromLog());
    expect(rows.filter((row) => row.actor_id === 'support-bot')).toHaveLength(5);
    expect(first.size + second.size).toBeGreaterThan(0);
  });

  it('a rolled-back batch leaves the memory claiming nothing it wrote', async () => {
    const memory = knownReach();
    await expect(append(memory, [reachDraft(0, 'support-bot', 'SG', [1, 2])], true)).rejects.toThrow('rolled back on purpose');
    expect(memory.size).toBe(0);
    await append(memory, [reachDraft(0, 'support-bot', 'SG', [1, 2])]);
    expect(await reachTable()).toEqual(await reachFromLog());
    expect(await reachTable()).toHaveLength(2);
  });

  it('forgets what it knew once the key epoch changes, the subjects keeping their pseudonyms', async () => {
    const memory = knownReach();
    await append(memory, [reachDraft(0, 'support-bot', 'SG', [1, 2])]);
    // Emptying the lists empties the reach table (its TRUNCATE trigger); subject keys stay, so the pseudonyms do too.
    await t.db.exec('TRUNCATE audit_subject_lists; UPDATE audit_head SET key_epoch = key_epoch + 1');
    expect(await reachTable()).toHaveLength(0);
    await append(memory, [reachDraft(0, 'support-bot', 'SG', [1, 2])]);
    expect(await reachTable()).toEqual(await reachFromLog());
    expect(await reachTable()).toHaveLength(2);
  });
});
