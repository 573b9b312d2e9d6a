import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditDraft,
  type AuditRecord,
  type AuditRow,
  appendAuditRecord,
  appendAuditRecords,
  auditRecordHash,
  currentRecordedPseudonyms,
  recordFromRow,
  subjectsDigest,
  verifyAuditChain,
} from '../../src/audit/index.ts';
import { migrate, type Queryable, type QueryResult } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog, fullAuditDraft } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const key = randomBytes(32);

/** What a record keeps of its draft: everything but the subject references. */
const kept = ({ subjects: _, ...fields }: AuditDraft) => fields;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('appending records to the audit chain', () => {
  let t: TestDatabase;
  const append = (drafts: AuditDraft[]) => t.db.transaction((tx) => appendAuditRecords(tx, key, drafts));
  const stored = async () => (await t.db.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq')).rows.map(recordFromRow);
  const head = async () => (await t.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head')).rows;
  /** Every audit_subjects row as [seq, subject, jurisdiction], in one order whatever the database's collation. */
  const subjectRows = async () =>
    (await t.db.query<{ audit_seq: number; subject: string; jurisdiction: string | null }>('SELECT audit_seq, subject, jurisdiction FROM audit_subjects')).rows
      .map((row): [number, string, string | null] => [Number(row.audit_seq), row.subject, row.jurisdiction])
      .sort(byText);
  const pseudonyms = (refs: string[]) => currentRecordedPseudonyms(t.db, refs);

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t?.drop());
  beforeEach(() => emptyAuditLog(t.db));

  it('places each draft after the head, linked to the record before and hashed under the key as it is stored', async () => {
    const drafts = [fullAuditDraft(1), fullAuditDraft(2), fullAuditDraft(3)];
    const records = await append(drafts);
    const names = await pseudonyms(['customer:1', 'customer:2', 'customer:3']);
    const expected = (draft: AuditDraft, n: number, prevHash: string): Omit<AuditRecord, 'hash'> => ({
      ...kept(draft),
      seq: n,
      subjectCount: 1,
      subjectsDigest: subjectsDigest([[names.get(`customer:${n}`)!, 'DE']]),
      jurisdictions: ['DE'],
      prevHash,
    });
    const [first, second, third] = [expected(drafts[0]!, 1, 'genesis'), expected(drafts[1]!, 2, records[0]!.hash), expected(drafts[2]!, 3, records[1]!.hash)];
    expect(records).toEqual([
      { ...first, hash: auditRecordHash(key, first) },
      { ...second, hash: auditRecordHash(key, second) },
      { ...third, hash: auditRecordHash(key, third) },
    ]);
    expect(await stored()).toEqual(records);
    expect(await head()).toEqual([{ seq: 3, hash: records[2]!.hash }]);

    const fourth = await t.db.transaction((tx) => appendAuditRecord(tx, key, fullAuditDraft(4)));
    const { hash, ...unhashed } = fourth;
    expect(unhashed).toMatchObject({ seq: 4, prevHash: records[2]!.hash, operationName: 'Q4' });
    expect(hash).toBe(auditRecordHash(key, unhashed));
    expect(await stored()).toEqual([...records, fourth]);
    expect(await head()).toEqual([{ seq: 4, hash }]);
    expect(await verifyAuditChain(t.db, key)).toEqual({ ok: true, checked: 4, headSeq: 4, prunedThrough: 0, bad: [] });
  });

  it('records each subject under its pseudonym with its jurisdiction, and in the record the distinct jurisdictions in order', async () => {
    const records = await append([
      auditDraft({
        subjects: new Map([
          ['customer:2', 'EU-DE'],
          ['customer:1', 'CN'],
          ['customer:3', null],
          ['customer:4', 'CN'],
        ]),
      }),
      // The same subject again in the same batch: one key, so one pseudonym, for both records.
      auditDraft({ subjects: new Map([['customer:1', 'CN']]) }),
      auditDraft(),
    ]);
    const names = await pseudonyms(['customer:1', 'customer:2', 'customer:3', 'customer:4']);
    expect(names.size).toBe(4);
    const [one, two, three, four] = ['customer:1', 'customer:2', 'customer:3', 'customer:4'].map((ref) => names.get(ref)!) as [string, string, string, string];
    expect(
      records.map(({ seq, subjectCount, subjectsDigest: digest, jurisdictions }) => ({ seq, subjectCount, subjectsDigest: digest, jurisdictions })),
    ).toEqual([
      {
        seq: 1,
        subjectCount: 4,
        subjectsDigest: subjectsDigest([
          [two, 'EU-DE'],
          [one, 'CN'],
          [three, null],
          [four, 'CN'],
        ]),
        jurisdictions: ['CN', 'EU-DE'],
      },
      { seq: 2, subjectCount: 1, subjectsDigest: subjectsDigest([[one, 'CN']]), jurisdictions: ['CN'] },
      { seq: 3, subjectCount: 0, subjectsDigest: subjectsDigest([]), jurisdictions: [] },
    ]);
    expect(await subjectRows()).toEqual(
      (
        [
          [1, one, 'CN'],
          [1, two, 'EU-DE'],
          [1, three, null],
          [1, four, 'CN'],
          [2, one, 'CN'],
        ] as Array<[number, string, string | null]>
      ).sort(byText),
    );
    expect(await stored()).toEqual(records);
    expect(await verifyAuditChain(t.db, key)).toMatchObject({ ok: true, checked: 3 });
  });

  it('writes a batch in as many statements as a single record, whatever its size', async () => {
    const statements = async (drafts: AuditDraft[]) => {
      const counter = { n: 0 };
      await t.db.transaction((tx) => appendAuditRecords(counting(tx, counter), key, drafts));
      return counter.n;
    };
    // Subjects seen for the first time cost a statement (their keys are made): both sides name only new ones.
    expect(await statements(Array.from({ length: 25 }, (_, i) => fullAuditDraft(100 + i)))).toBe(await statements([fullAuditDraft(1)]));
    expect(await statements(Array.from({ length: 25 }, () => auditDraft()))).toBe(await statements([auditDraft()]));
    // Refusals and aggregates name no one: the head, then the records with the new head in one statement.
    expect(await statements([auditDraft()])).toBe(2);
  });

  it('refuses to append without a chain head, writing nothing', async () => {
    for (const write of [
      (tx: Queryable) => appendAuditRecords(tx, key, [fullAuditDraft(1)]),
      (tx: Queryable) => appendAuditRecord(tx, key, fullAuditDraft(1)),
    ]) {
      const error = await rejection(
        t.db.transaction(async (tx) => {
          await tx.query('DELETE FROM audit_head');
          return write(tx);
        }),
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ message: 'audit_head is missing: run the migrations' });
    }
    expect(await stored()).toEqual([]);
    expect(await subjectRows()).toEqual([]);
    expect(await head()).toEqual([{ seq: 0, hash: 'genesis' }]);
  });

  it('appends nothing for no drafts, and leaves the head where it was', async () => {
    const records = await append([fullAuditDraft(1)]);
    const before = { log: await stored(), subjects: await subjectRows(), head: await head() };
    expect(await append([])).toEqual([]);
    expect({ log: await stored(), subjects: await subjectRows(), head: await head() }).toEqual(before);
    expect(before.head).toEqual([{ seq: 1, hash: records[0]!.hash }]);
  });
});

/** The transaction, counting the statements sent through it. */
function counting(tx: Queryable, counter: { n: number }): Queryable {
  return {
    query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      counter.n += 1;
      return tx.query<R>(text, params);
    },
  };
}

function byText(a: readonly unknown[], b: readonly unknown[]): number {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
