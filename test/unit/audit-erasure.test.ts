import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditRecords, eraseSubject, type ErasureRequest, subjectPseudonym, subjectsDigest, verifyAuditChain } from '../../src/audit/index.ts';
import {
  currentRecordedPseudonym,
  currentRecordedPseudonyms,
  currentSubjectKeys,
  hmacSha256,
  recordedPseudonym,
  recordedPseudonymsFor,
  SubjectKeyError,
} from '../../src/audit/subject-keys.ts';
import { type Db, migrate, type Queryable } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

/** Fixed keys: the pseudonyms below are stored in audit_subjects, so these exact values must never change. */
const KEY_A = Buffer.alloc(32, 0x11);
const KEY_B = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
/** The broker-wide key naming subjects by reference. */
const SUBJECT_KEY = Buffer.alloc(32, 0x42);
const ref = (id: number) => subjectPseudonym(SUBJECT_KEY, 'customer', id);

/** HMAC-SHA-256 as node computes it: the reference hmacSha256 must agree with, byte for byte. */
const nodeHmac = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message).digest('hex');

/** A view of `q` that records the text of every statement it runs, whitespace collapsed. */
function recording(q: Queryable, statements: string[]): Queryable {
  return {
    query<R>(text: string, params?: readonly unknown[]) {
      statements.push(text.replace(/\s+/g, ' ').trim());
      return q.query<R>(text, params);
    },
  };
}

/** `db` with every statement of its transactions recorded. */
function recordingDb(db: Db, statements: string[]): Db {
  return { ...db, transaction: (fn) => db.transaction((tx) => fn(recording(tx, statements))) };
}

const READ_KEYS = 'SELECT subject_ref, key FROM subject_keys WHERE subject_ref = ANY($1::text[]) AND key IS NOT NULL';
const HEAD_LOCK = 'SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE';

describe('hmacSha256 and recordedPseudonym, the pseudonyms audit_subjects stores', () => {
  it('hmacSha256 gives the RFC 4231 test vectors', () => {
    expect(hmacSha256(Buffer.alloc(20, 0x0b), 'Hi There').toString('hex')).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it.each([0, 1, 31, 32, 63, 64])('hmacSha256 agrees with node for a key of %i bytes, up to the block size', (length) => {
    const key = randomBytes(length);
    for (const message of ['', 'customer:BSoc17LRjNLE-hCu3kNycj', 'ü€😀 multi-byte']) {
      expect(hmacSha256(key, message).toString('hex')).toBe(nodeHmac(key, message));
    }
  });

  it('hmacSha256 refuses a key longer than the block size rather than hashing it down', () => {
    const tooLong = Buffer.alloc(65, 1);
    expect(() => hmacSha256(tooLong, 'm')).toThrow(new SubjectKeyError('a subject key is at most 64 bytes'));
    expect(() => recordedPseudonym(tooLong, 'customer:x')).toThrow(SubjectKeyError);
  });

  it('a SubjectKeyError is an Error named for its class', () => {
    const error = new SubjectKeyError('why');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SubjectKeyError');
    expect(error.message).toBe('why');
  });

  it('a pseudonym is pinned for fixed keys: kind of the reference, then 22 base64url characters of the HMAC', () => {
    expect(recordedPseudonym(KEY_A, 'customer:abc')).toBe('customer:t-tfG1IVuGSA4gy1mnusL4');
    expect(recordedPseudonym(KEY_B, 'customer:abc')).toBe('customer:ufoo_WKLIPj8TjUiigJUch');
    expect(recordedPseudonym(KEY_A, 'account:x')).toBe('account:EjfTls0_qpz1xaf_eg5MsS');
    // Everything before the first colon is the kind, however many colons follow.
    expect(recordedPseudonym(KEY_A, 'a:b:c')).toBe('a:_94BMeTotrT0GsvUGysHMq');
    expect(recordedPseudonym(KEY_A, 'customer:abc')).toBe(`customer:${hmacSha256(KEY_A, 'customer:abc').toString('base64url').slice(0, 22)}`);
  });

  it('a reference without a kind (no colon, or one leading colon) is recorded as a subject', () => {
    expect(recordedPseudonym(KEY_A, 'plain')).toBe('subject:zUujqjpm6rw6W-nTyhZCoN');
    expect(recordedPseudonym(KEY_A, ':lead')).toBe('subject:G90Hr0STJ6NbPU9a7EiQU4');
  });

  it('subject references are pinned too: subject_keys is keyed by them', () => {
    expect([ref(1), ref(2), ref(3)]).toEqual(['customer:BSoc17LRjNLE-hCu3kNycj', 'customer:uVry6JKP-i5C5bvqcQvQTV', 'customer:dHARgDg1islikXtlNeVSAC']);
    expect(recordedPseudonym(KEY_A, ref(1))).toBe('customer:0QhGqgfSwW7Lkf-kOYyNGs');
  });
});

describe('subject key lookups', () => {
  let t: TestDatabase;
  const FOUND_A = 'customer:found-a';
  const FOUND_B = 'account:found-b';
  const ERASED = 'customer:erased';
  const MISSING = 'customer:missing';

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    await t.db.query('INSERT INTO subject_keys (subject_ref, key) VALUES ($1, $2), ($3, $4)', [FOUND_A, KEY_A, FOUND_B, KEY_B]);
    await t.db.query('INSERT INTO subject_keys (subject_ref, key, erased_at) VALUES ($1, NULL, now())', [ERASED]);
  });
  afterAll(() => t.drop());

  it('reads the keys of several subjects at once: found ones only, never the missing or erased', async () => {
    expect(await currentSubjectKeys(t.db, [FOUND_A, MISSING, ERASED, FOUND_B])).toEqual(
      new Map([
        [FOUND_A, new Uint8Array(KEY_A)],
        [FOUND_B, new Uint8Array(KEY_B)],
      ]),
    );
    expect(await currentSubjectKeys(t.db, [MISSING, ERASED])).toEqual(new Map());
    expect(await currentSubjectKeys(t.db, [])).toEqual(new Map());
  });

  it("gives each found subject's pinned pseudonym under its own key, and none for the missing or erased", async () => {
    expect(await currentRecordedPseudonyms(t.db, [FOUND_A, MISSING, ERASED, FOUND_B])).toEqual(
      new Map([
        [FOUND_A, 'customer:EL_pe734zGXmbXxIQe4lnd'],
        [FOUND_B, 'account:WN_O8RaAosbBq78fgXWG9V'],
      ]),
    );
    expect(await currentRecordedPseudonyms(t.db, [MISSING, ERASED])).toEqual(new Map());
  });

  it('gives one subject its pseudonym, or null when nothing can be linked to it', async () => {
    expect(await currentRecordedPseudonym(t.db, FOUND_A)).toBe('customer:EL_pe734zGXmbXxIQe4lnd');
    expect(await currentRecordedPseudonym(t.db, MISSING)).toBeNull();
    expect(await currentRecordedPseudonym(t.db, ERASED)).toBeNull();
  });

  it('looking a subject up makes no key for it', async () => {
    await currentRecordedPseudonym(t.db, MISSING);
    await currentRecordedPseudonyms(t.db, [MISSING]);
    expect((await t.db.query('SELECT 1 FROM subject_keys WHERE subject_ref = $1', [MISSING])).rows).toEqual([]);
  });

  it('a record names a subject with a stored key under the pinned pseudonym of that key', async () => {
    const auditKey = randomBytes(32);
    const [record] = await t.db.transaction((tx) => appendAuditRecords(tx, auditKey, [auditDraft({ subjects: new Map([[FOUND_A, 'DE']]) })]));
    const { rows } = await t.db.query('SELECT subject, jurisdiction FROM audit_subjects WHERE audit_seq = $1', [record!.seq]);
    expect(rows).toEqual([{ subject: 'customer:EL_pe734zGXmbXxIQe4lnd', jurisdiction: 'DE' }]);
  });
});

describe('recordedPseudonymsFor, which makes keys on first sight', () => {
  let t: TestDatabase;
  const KNOWN = 'customer:known';
  const keyRow = async (subjectRef: string) =>
    (await t.db.query<{ key: Uint8Array | null; erased_at: Date | null }>('SELECT key, erased_at FROM subject_keys WHERE subject_ref = $1', [subjectRef])).rows;

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    await t.db.query('INSERT INTO subject_keys (subject_ref, key) VALUES ($1, $2)', [KNOWN, KEY_A]);
  });
  afterAll(() => t.drop());

  it('costs no statement for a record without subjects', async () => {
    const statements: string[] = [];
    expect(await recordedPseudonymsFor(recording(t.db, statements), [])).toEqual(new Map());
    expect(statements).toEqual([]);
  });

  it('reads known subjects in one statement and neither makes nor rewrites their keys', async () => {
    const statements: string[] = [];
    expect(await recordedPseudonymsFor(recording(t.db, statements), [KNOWN])).toEqual(new Map([[KNOWN, 'customer:TJ0Fw1oxIbJnlz-8L2EsOK']]));
    expect(statements).toEqual([READ_KEYS]);
    expect(await keyRow(KNOWN)).toEqual([{ key: new Uint8Array(KEY_A), erased_at: null }]);
  });

  it('makes a random 32-byte key for each new subject, in a second statement, and keeps it', async () => {
    const statements: string[] = [];
    const fresh = ['customer:new-2', 'customer:new-1'];
    const made = await t.db.transaction((tx) => recordedPseudonymsFor(recording(tx, statements), [KNOWN, ...fresh]));
    expect(statements).toHaveLength(2);
    expect(statements[0]).toBe(READ_KEYS);
    expect(statements[1]).toMatch(/^INSERT INTO subject_keys /);
    expect([...made.keys()]).toEqual([KNOWN, ...fresh]);
    expect(made.get(KNOWN)).toBe('customer:TJ0Fw1oxIbJnlz-8L2EsOK');
    const [key1] = await keyRow('customer:new-1');
    const [key2] = await keyRow('customer:new-2');
    expect(key1!.key).toHaveLength(32);
    expect(key2!.key).toHaveLength(32);
    expect(Buffer.from(key1!.key!).equals(Buffer.from(key2!.key!))).toBe(false);
    expect(made.get('customer:new-1')).toBe(recordedPseudonym(key1!.key!, 'customer:new-1'));
    expect(made.get('customer:new-2')).toBe(recordedPseudonym(key2!.key!, 'customer:new-2'));
    // Seen again, the subject keeps its pseudonym: its records link to each other.
    expect(await recordedPseudonymsFor(t.db, fresh)).toEqual(new Map(fresh.map((subjectRef) => [subjectRef, made.get(subjectRef)])));
  });

  it('gives an erased subject seen again a new key in place of its tombstone', async () => {
    await t.db.query('INSERT INTO subject_keys (subject_ref, key, erased_at) VALUES ($1, NULL, now())', ['customer:back']);
    const made = await recordedPseudonymsFor(t.db, ['customer:back']);
    const [row] = await keyRow('customer:back');
    expect(row!.key).toHaveLength(32);
    expect(made).toEqual(new Map([['customer:back', recordedPseudonym(row!.key!, 'customer:back')]]));
  });

  it('refuses to go on when the database did not make a key, naming the subject', async () => {
    // A trigger that drops the insert stands for a key the statement could not make; the transaction undoes it.
    const attempt = t.db.transaction(async (tx) => {
      await tx.query(`CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.subject_ref LIKE 'refused:%' THEN RETURN NULL; END IF; RETURN NEW; END $$`);
      await tx.query('CREATE TRIGGER refuse_key BEFORE INSERT ON subject_keys FOR EACH ROW EXECUTE FUNCTION refuse_key()');
      return recordedPseudonymsFor(tx, ['customer:allowed', 'refused:1']);
    });
    await expect(attempt).rejects.toThrow(new SubjectKeyError('no key could be made for data subject refused:1'));
    await expect(attempt).rejects.toBeInstanceOf(SubjectKeyError);
  });
});

describe('eraseSubject', () => {
  let t: TestDatabase;
  const auditKey = randomBytes(32);
  const keys = { auditKey, subjectKey: SUBJECT_KEY };
  const OFFICER = { kind: 'officer', id: 'dpo-1' } as const;
  const erase = (id: number, request: Partial<ErasureRequest> = {}) =>
    eraseSubject(t.db, keys, { kind: 'customer', id: String(id), actor: OFFICER, ...request });
  const rows = async (sql: string, params: unknown[] = []) => (await t.db.query<Record<string, unknown>>(sql, params)).rows;
  /** The records a lookup by reference ties to the subject now, as the officer's queries do. */
  const recordsNaming = async (id: number) => {
    const pseudonym = await currentRecordedPseudonym(t.db, ref(id));
    if (pseudonym === null) return [];
    return (await rows('SELECT audit_seq FROM audit_subjects WHERE subject = $1 ORDER BY audit_seq', [pseudonym])).map((row) => Number(row.audit_seq));
  };
  const head = async () => (await rows('SELECT seq, hash FROM audit_head'))[0] as { seq: number; hash: string };
  const record = async (seq: number) => (await rows('SELECT * FROM audit_log WHERE seq = $1', [seq]))[0];
  const chainVerifies = async (records: number) =>
    expect(await verifyAuditChain(t.db, auditKey)).toEqual({ ok: true, checked: records, headSeq: records, prunedThrough: 0, bad: [] });

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    // Customer 1 is in records 1 and 2, customer 2 in record 1, customer 3 in record 3; record 4 names nobody.
    await t.db.transaction((tx) =>
      appendAuditRecords(tx, auditKey, [
        auditDraft({
          subjects: new Map([
            [ref(1), 'DE'],
            [ref(2), 'FR'],
          ]),
        }),
        auditDraft({ subjects: new Map([[ref(1), 'DE']]) }),
        auditDraft({ subjects: new Map([[ref(3), null]]) }),
        auditDraft(),
      ]),
    );
  });
  afterAll(() => t.drop());

  it('before any erasure, every subject resolves to the records that name them', async () => {
    expect(await recordsNaming(1)).toEqual([1, 2]);
    expect(await recordsNaming(2)).toEqual([1]);
    expect(await recordsNaming(3)).toEqual([3]);
  });

  it('erasing a subject with records destroys their key, reports how many records it unlinked, and leaves the records and the chain as they were', async () => {
    const before = await currentRecordedPseudonym(t.db, ref(1));
    const log = await rows('SELECT * FROM audit_log ORDER BY seq');
    const subjects = await rows('SELECT * FROM audit_subjects ORDER BY audit_seq, subject');

    expect(await erase(1, { reference: 'DSR-2026-017' })).toEqual({ keyDestroyed: true, recordsUnlinked: 2, auditSeq: 5 });

    expect(await recordsNaming(1)).toEqual([]);
    expect(await currentSubjectKeys(t.db, [ref(1)])).toEqual(new Map());
    expect(await rows('SELECT key, erased_at FROM subject_keys WHERE subject_ref = $1', [ref(1)])).toEqual([{ key: null, erased_at: expect.any(Date) }]);
    // No key left reproduces the old pseudonym, though the records still hold it.
    const remaining = await rows('SELECT key FROM subject_keys WHERE key IS NOT NULL');
    expect(remaining).toHaveLength(2);
    expect(remaining.filter(({ key }) => recordedPseudonym(key as Uint8Array, ref(1)) === before)).toEqual([]);
    expect(await rows('SELECT audit_seq FROM audit_subjects WHERE subject = $1 ORDER BY audit_seq', [before])).toEqual([{ audit_seq: 1 }, { audit_seq: 2 }]);

    expect(await recordsNaming(2)).toEqual([1]);
    expect(await recordsNaming(3)).toEqual([3]);
    expect(await rows('SELECT * FROM audit_log WHERE seq <= 4 ORDER BY seq')).toEqual(log);
    expect(await rows('SELECT * FROM audit_subjects ORDER BY audit_seq, subject')).toEqual(subjects);
    await chainVerifies(5);
  });

  it('audits the erasure by the kind of subject, the outcome and the request reference, never the id', async () => {
    const previous = await record(4);
    const erasure = await record(5);
    expect(erasure).toEqual({
      seq: 5,
      recorded_at: expect.any(Date),
      request_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      actor_kind: 'officer',
      actor_id: 'dpo-1',
      on_behalf_of: null,
      purpose: null,
      actor_location: null,
      operation_kind: 'subject_erasure',
      operation_name: null,
      operation_hash: null,
      decision: 'allowed',
      code: null,
      reason: null,
      tables: ['subject_keys'],
      fields: [],
      row_count: 0,
      subject_count: 0,
      subjects_digest: subjectsDigest(new Map()),
      jurisdictions: [],
      privacy_cost: null,
      findings: [],
      details: { subjectKind: 'customer', keyDestroyed: true, recordsUnlinked: 2, reference: 'DSR-2026-017' },
      prev_hash: previous!.hash,
      hash: (await head()).hash,
    });
    expect(await rows('SELECT 1 FROM audit_subjects WHERE audit_seq = 5')).toEqual([]);
    expect(JSON.stringify(erasure)).not.toContain(ref(1).slice('customer:'.length));
  });

  it('stamps the erasure record with the time it was made and a request id of its own', async () => {
    const started = Date.now();
    const { auditSeq } = await erase(3);
    const erasure = await record(auditSeq);
    expect((erasure!.recorded_at as Date).getTime()).toBeGreaterThanOrEqual(started);
    expect((erasure!.recorded_at as Date).getTime()).toBeLessThanOrEqual(Date.now());
    expect(erasure!.request_id).not.toBe((await record(5))!.request_id);
    expect(erasure!.details).toEqual({ subjectKind: 'customer', keyDestroyed: true, recordsUnlinked: 1, reference: null });
    // What every erasure record holds, asserted by a test that erases for itself: a mutation run reruns only the
    // tests that reach the code it changed, and the test above reads a record an earlier one wrote.
    expect(erasure).toMatchObject({
      operation_kind: 'subject_erasure',
      decision: 'allowed',
      tables: ['subject_keys'],
      fields: [],
      findings: [],
      jurisdictions: [],
      row_count: 0,
      subject_count: 0,
      privacy_cost: null,
    });
    expect(await recordsNaming(3)).toEqual([]);
    expect(await recordsNaming(2)).toEqual([1]);
    await chainVerifies(6);
  });

  it('records an erasure of an already erased subject, destroying nothing and leaving the tombstone as it was', async () => {
    const tombstone = await rows('SELECT * FROM subject_keys WHERE subject_ref = $1', [ref(1)]);
    expect(await erase(1, { actor: { kind: 'cli', id: null }, reference: 'DSR-again' })).toEqual({ keyDestroyed: false, recordsUnlinked: 0, auditSeq: 7 });
    expect(await rows('SELECT * FROM subject_keys WHERE subject_ref = $1', [ref(1)])).toEqual(tombstone);
    expect(await record(7)).toMatchObject({
      actor_kind: 'cli',
      actor_id: null,
      operation_kind: 'subject_erasure',
      details: { subjectKind: 'customer', keyDestroyed: false, recordsUnlinked: 0, reference: 'DSR-again' },
    });
    await chainVerifies(7);
  });

  it('records an erasure of a subject the log never saw, making no key for them', async () => {
    expect(await erase(999, { kind: 'account' })).toEqual({ keyDestroyed: false, recordsUnlinked: 0, auditSeq: 8 });
    expect(await rows('SELECT 1 FROM subject_keys WHERE subject_ref = $1', [subjectPseudonym(SUBJECT_KEY, 'account', 999)])).toEqual([]);
    expect((await record(8))!.details).toEqual({ subjectKind: 'account', keyDestroyed: false, recordsUnlinked: 0, reference: null });
    await chainVerifies(8);
  });

  it('destroys the key of a subject whose records are all gone (pruned), unlinking none', async () => {
    await t.db.transaction((tx) => recordedPseudonymsFor(tx, [ref(4)]));
    expect(await erase(4)).toEqual({ keyDestroyed: true, recordsUnlinked: 0, auditSeq: 9 });
    expect(await currentRecordedPseudonym(t.db, ref(4))).toBeNull();
    expect((await record(9))!.details).toEqual({ subjectKind: 'customer', keyDestroyed: true, recordsUnlinked: 0, reference: null });
  });

  it('links a subject seen again after erasure only to the records made since, and can erase them again', async () => {
    const [again] = await t.db.transaction((tx) => appendAuditRecords(tx, auditKey, [auditDraft({ subjects: new Map([[ref(1), 'DE']]) })]));
    expect(again!.seq).toBe(10);
    expect(await recordsNaming(1)).toEqual([10]);
    expect(await erase(1)).toEqual({ keyDestroyed: true, recordsUnlinked: 1, auditSeq: 11 });
    expect(await recordsNaming(1)).toEqual([]);
    await chainVerifies(11);
  });

  it('takes the audit head lock before it reads the key', async () => {
    const statements: string[] = [];
    await eraseSubject(recordingDb(t.db, statements), keys, { kind: 'customer', id: '2', actor: OFFICER });
    expect(statements.slice(0, 2)).toEqual([HEAD_LOCK, READ_KEYS]);
    expect(await recordsNaming(2)).toEqual([]);
  });

  it('destroys nothing when the erasure cannot be audited', async () => {
    await t.db.transaction((tx) => recordedPseudonymsFor(tx, [ref(5)]));
    const before = await currentRecordedPseudonym(t.db, ref(5));
    const { seq } = await head();
    // actor_kind is NOT NULL: the record fails, and the key's destruction goes back with it.
    await expect(erase(5, { actor: { kind: null as never, id: null } })).rejects.toThrow(/actor_kind/);
    expect(await currentRecordedPseudonym(t.db, ref(5))).toBe(before);
    expect((await head()).seq).toBe(seq);
  });
});
