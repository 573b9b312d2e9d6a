import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditRecords, verifyAuditChain } from '../../src/audit/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

// A log written before subjects became one list per record (migration 080) keeps every subject and still verifies.
describe('moving a log of one row per subject to one list per record', () => {
  const key = randomBytes(32);
  let t: TestDatabase;
  const subjectRows = async () =>
    (await t.db.query('SELECT audit_seq, subject, jurisdiction FROM audit_subjects ORDER BY audit_seq, subject COLLATE "C"')).rows;

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t?.drop());

  it('keeps every record subject with its jurisdiction, and the chain verifies', async () => {
    await t.db.transaction((tx) =>
      appendAuditRecords(tx, key, [
        auditDraft({
          subjects: new Map([
            ['customer:a', 'DE'],
            ['customer:b', null],
            ['customer:c', 'SG'],
          ]),
        }),
        auditDraft({ subjects: new Map() }),
        auditDraft({ subjects: new Map([['customer:b', null]]) }),
      ]),
    );
    const before = await subjectRows();
    expect(before).toHaveLength(4);
    // The layout as the migrations before 080 left it.
    await t.db.exec(`
      DROP VIEW audit_subjects;
      CREATE TABLE audit_subjects (audit_seq bigint NOT NULL REFERENCES audit_log (seq), subject text NOT NULL, jurisdiction text, PRIMARY KEY (audit_seq, subject));
      INSERT INTO audit_subjects SELECT l.audit_seq, s.subject, s.jurisdiction FROM audit_subject_lists l, unnest(l.subjects, l.jurisdictions) AS s (subject, jurisdiction);
      DROP TABLE audit_subject_lists;
      DELETE FROM keyhole_migrations WHERE name LIKE '080-%';`);

    await migrate(t.db);

    expect(await subjectRows()).toEqual(before);
    expect((await t.db.query("SELECT relkind FROM pg_class WHERE relname = 'audit_subjects'")).rows).toEqual([{ relkind: 'v' }]);
    expect(await verifyAuditChain(t.db, key)).toMatchObject({ ok: true, checked: 3 });
  });
});
