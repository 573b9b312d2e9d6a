import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditDraft, appendAuditRecords, currentRecordedPseudonym, eraseSubject, KnownPseudonyms, subjectPseudonym } from '../../src/audit/index.ts';
import { migrate, type Queryable } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

describe('KnownPseudonyms: what a broker remembers of subjects it recorded', () => {
  const learnOne = (known: KnownPseudonyms, epoch: string, ref: string, pseudonym: string) => {
    const scope = known.scope();
    scope.under(epoch);
    scope.learn(ref, pseudonym);
    return scope;
  };

  it('keeps what a transaction learned only once it committed', () => {
    const known = new KnownPseudonyms();
    const scope = learnOne(known, '0', 'customer:a', 'customer:A');
    expect(known.under('0').has('customer:a')).toBe(false);
    scope.commit();
    expect(known.under('0').get('customer:a')).toBe('customer:A');
  });

  it('drops everything when it sees another key epoch', () => {
    const known = new KnownPseudonyms();
    learnOne(known, '0', 'customer:a', 'customer:A').commit();
    expect(known.under('1').size).toBe(0);
    expect(known.under('0').size).toBe(0);
  });

  it('does not keep what a transaction learned under an epoch another transaction has since left', () => {
    const known = new KnownPseudonyms();
    const before = learnOne(known, '0', 'customer:a', 'customer:A');
    known.scope().under('1');
    before.commit();
    expect(known.under('1').size).toBe(0);
  });

  it('is bounded, dropping the oldest first', () => {
    const known = new KnownPseudonyms(2);
    for (const n of [1, 2, 3]) learnOne(known, '0', `customer:${n}`, `p${n}`).commit();
    expect([...known.under('0').keys()]).toEqual(['customer:2', 'customer:3']);
  });
});

describe('appending with remembered pseudonyms', () => {
  const auditKey = randomBytes(32);
  const subjectKey = randomBytes(32);
  const ref = (n: number) => subjectPseudonym(subjectKey, 'customer', n);
  const about = (...ns: number[]): AuditDraft => auditDraft({ subjects: new Map(ns.map((n) => [ref(n), 'DE'])) });
  let t: TestDatabase;
  let known: KnownPseudonyms;

  /** Appends in one transaction through a scope of `known`, committed only when the transaction is; returns the statements sent. */
  const append = async (drafts: AuditDraft[], fail = false): Promise<string[]> => {
    const sent: string[] = [];
    const scope = known.scope();
    await t.db.transaction(async (tx) => {
      const noting: Queryable = {
        query: (text, params) => {
          sent.push(text);
          return tx.query(text, params);
        },
      };
      await appendAuditRecords(noting, auditKey, drafts, scope);
      if (fail) throw new Error('rolled back');
    });
    scope.commit();
    return sent;
  };
  const recorded = async (seq: number) =>
    (await t.db.query<{ subject: string }>('SELECT subject FROM audit_subjects WHERE audit_seq = $1 ORDER BY subject', [seq])).rows.map((row) => row.subject);
  const headSeq = async () => Number((await t.db.query<{ seq: number }>('SELECT seq FROM audit_head')).rows[0]!.seq);

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t?.drop());
  beforeEach(async () => {
    await emptyAuditLog(t.db);
    known = new KnownPseudonyms();
  });

  it('reads no key for subjects recorded before, and records them under the same pseudonyms as the keys give', async () => {
    await append([about(1, 2)]);
    const sent = await append([about(2, 1)]);
    expect(sent).toHaveLength(2);
    expect(sent.some((text) => text.includes('subject_keys'))).toBe(false);
    expect(await recorded(2)).toEqual([await currentRecordedPseudonym(t.db, ref(1)), await currentRecordedPseudonym(t.db, ref(2))].sort());
    expect(await recorded(2)).toEqual(await recorded(1));
  });

  it('forgets a key made in a transaction that rolled back: it never existed', async () => {
    await expect(append([about(3)], true)).rejects.toThrow('rolled back');
    expect(await currentRecordedPseudonym(t.db, ref(3))).toBeNull();
    await append([about(3)]);
    expect(await recorded(await headSeq())).toEqual([await currentRecordedPseudonym(t.db, ref(3))]);
  });

  it('records a subject erased meanwhile, by any broker, under a new key, never the destroyed one', async () => {
    await append([about(4)]);
    const [before] = await recorded(1);
    await eraseSubject(t.db, { auditKey, subjectKey }, { kind: 'customer', id: '4', actor: { kind: 'cli', id: 'dpo' } });
    await append([about(4)]);
    const [after] = await recorded(await headSeq());
    expect(after).not.toBe(before);
    expect(after).toBe(await currentRecordedPseudonym(t.db, ref(4)));
  });
});
