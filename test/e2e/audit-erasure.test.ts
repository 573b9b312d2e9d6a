import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentRecordedPseudonym, eraseSubject, recordedPseudonym, subjectPseudonym, verifyAuditChain } from '../../src/audit/index.ts';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import { accessesToSubject } from '../../src/officer/subject-queries.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { withCliWorld } from '../support/cli.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';

const ACTOR = { kind: 'cli', id: 'dpo-desk' } as const;
const WHO_HAS_SEEN = 'query($id: ID!) { whoHasSeen(customerId: $id) { agents accesses { seq agent } } }';

/** support-bot reads its desk's customers (1, 2, 5, 6 among them); fraud-bot reads transactions of customers 1-4. */
async function makeTraffic(kh: TestBroker): Promise<void> {
  const replies = [
    await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 10) { id residency } }'),
    await kh.graphql(await kh.token('fraud-bot'), '{ transactions(limit: 10) { id amount } }'),
  ];
  for (const reply of replies) if (reply.status !== 200 || reply.body.errors) throw new Error(`traffic failed: ${JSON.stringify(reply.body)}`);
}

describe.each(ENGINES)('erasure of a data subject from the audit log on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let handle: OfficerRequestHandler;
  let dpo: string;
  const ref = (id: number) => subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', id);
  const whoHasSeen = async (id: number): Promise<{ agents: string[]; accesses: Array<{ seq: number; agent: string }> }> => {
    const reply = await officerQuery(handle, dpo, WHO_HAS_SEEN, { id: String(id) });
    expect(reply.body.errors).toBeUndefined();
    return reply.body.data!.whoHasSeen;
  };
  const rows = async (sql: string) => (await t.db.query<Record<string, unknown>>(sql)).rows;
  const headSeq = async () => Number((await rows('SELECT seq FROM audit_head'))[0]!.seq);
  const erase = (id: number, reference?: string) => eraseSubject(t.db, kh.broker.secrets, { kind: 'customer', id: String(id), actor: ACTOR, reference });

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    handle = officerHandlerOf(kh);
    dpo = await kh.token('dpo');
    await makeTraffic(kh);
  });
  afterAll(async () => {
    await kh?.close();
    await t?.drop();
  });

  it('unlinks every record about the subject, leaving the records, their digests and the chain as they were', async () => {
    // Before: the log names customer 2 only under its own key, the same in both records, never by reference.
    const before = await currentRecordedPseudonym(t.db, ref(2));
    expect(before).toMatch(/^customer:[\w-]{22}$/);
    expect(await rows(`SELECT audit_seq FROM audit_subjects WHERE subject = '${before}' ORDER BY audit_seq`)).toHaveLength(2);
    expect(await rows(`SELECT 1 FROM audit_subjects WHERE subject = '${ref(2)}'`)).toHaveLength(0);
    expect((await whoHasSeen(2)).agents).toEqual(['fraud-bot', 'support-bot']);

    const head = await headSeq();
    const log = await rows(`SELECT * FROM audit_log WHERE seq <= ${head} ORDER BY seq`);
    const subjects = await rows('SELECT * FROM audit_subjects ORDER BY audit_seq, subject');

    expect(await erase(2, 'DSR-2026-017')).toEqual({ keyDestroyed: true, recordsUnlinked: 2, auditSeq: head + 1 });

    expect(await whoHasSeen(2)).toEqual({ agents: [], accesses: [] });
    expect((await whoHasSeen(6)).agents).toEqual(['support-bot']);
    expect(await rows(`SELECT * FROM audit_log WHERE seq <= ${head} ORDER BY seq`)).toEqual(log);
    expect(await rows('SELECT * FROM audit_subjects ORDER BY audit_seq, subject')).toEqual(subjects);
    expect(await verifyAuditChain(t.db, kh.broker.secrets.auditKey)).toMatchObject({ ok: true });

    // The key is gone, not flagged: no key left in the table reproduces the old pseudonym.
    const [tombstone] = await rows(`SELECT key, erased_at FROM subject_keys WHERE subject_ref = '${ref(2)}'`);
    expect(tombstone).toMatchObject({ key: null, erased_at: expect.any(Date) });
    const keys = await rows('SELECT key FROM subject_keys WHERE key IS NOT NULL');
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.filter(({ key }) => recordedPseudonym(key as Uint8Array, ref(2)) === before)).toEqual([]);

    const [record] = await rows(`SELECT * FROM audit_log WHERE seq = ${head + 1}`);
    expect(record).toMatchObject({
      actor_kind: 'cli',
      actor_id: 'dpo-desk',
      operation_kind: 'subject_erasure',
      subject_count: 0,
      details: { subjectKind: 'customer', keyDestroyed: true, recordsUnlinked: 2, reference: 'DSR-2026-017' },
    });
    expect(JSON.stringify(record)).not.toContain(ref(2));
    expect(JSON.stringify(record)).not.toContain(before);
  });

  it('gives a subject seen again after erasure a new key, unrelated to the destroyed one', async () => {
    const old = await currentRecordedPseudonym(t.db, ref(1));
    const erased = await erase(1);
    expect(erased.keyDestroyed).toBe(true);
    await makeTraffic(kh);
    const seen = await whoHasSeen(1);
    expect(seen.accesses.map((a) => a.agent).sort()).toEqual(['fraud-bot', 'support-bot']);
    expect(seen.accesses.every((a) => Number(a.seq) > erased.auditSeq)).toBe(true);
    expect(await currentRecordedPseudonym(t.db, ref(1))).not.toBe(old);
    expect(await rows(`SELECT 1 FROM audit_subjects WHERE subject = '${old}'`)).toHaveLength(erased.recordsUnlinked);
    expect(await verifyAuditChain(t.db, kh.broker.secrets.auditKey)).toMatchObject({ ok: true });
  });

  it('records an erasure of a subject the log never saw, destroying nothing', async () => {
    expect(await erase(999)).toMatchObject({ keyDestroyed: false, recordsUnlinked: 0 });
    expect(await rows(`SELECT 1 FROM subject_keys WHERE subject_ref = '${ref(999)}'`)).toHaveLength(0);
  });
});

describe('keyhole audit erase-subject (CLI, real PostgreSQL)', () => {
  it('erases a customer by id and refuses an unknown kind of subject', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      await makeTraffic(kh);
      const ref6 = subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', 6);
      expect(await accessesToSubject(t.db, ref6)).toHaveLength(1);

      const done = await keyhole('audit', 'erase-subject', '--kind', 'customer', '--id', '6', '--reference', 'DSR-7');
      expect(done.stdout).toContain('erased: 1 audit records can no longer be linked to this customer; audited as record 3');
      expect(await accessesToSubject(t.db, ref6)).toEqual([]);
      const unknown = await keyhole('audit', 'erase-subject', '--kind', 'planet', '--id', '6').catch((error: { code: number; stderr: string }) => error);
      expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown kind of data subject "planet"') });
      expect((await keyhole('audit', 'verify')).stdout).toContain('audit chain OK: 3 records verified');
    }));
});
