import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectPseudonym } from '../../src/audit/index.ts';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';

const WHO_HAS_SEEN = `query($subject: SubjectIdentifier!) {
  whoHasSeen(subject: $subject) { outcome matches subject agents accesses { seq agent purpose fields { table field mask rule } } }
}`;

describe.each(ENGINES)('who-has-seen by the identifiers an officer holds, on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let handle: OfficerRequestHandler;
  let dpo: string;
  const ask = (subject: Record<string, unknown>) => officerQuery(handle, dpo, WHO_HAS_SEEN, { subject });
  const whoHasSeen = async (subject: Record<string, unknown>) => {
    const reply = await ask(subject);
    expect(reply.body.errors, JSON.stringify(reply.body.errors)).toBeUndefined();
    return reply.body.data!.whoHasSeen;
  };
  const pseudonym = (id: number) => subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', id);
  const lastRecord = async () => (await t.db.query<Record<string, any>>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    // A second Jonas Becker born the same day: his name and birth date no longer tell the two apart.
    await t.db.query(
      `INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at)
       VALUES (7, 'Jonas Becker', 'j.becker@example.de', '+49 151 0000000', '11111111111', '1979-11-02', 'M', '20095', 'Hamburg', 'EU-DE', 'retail', now())`,
    );
    kh = await startTestBroker(t.db);
    handle = officerHandlerOf(kh);
    // support-bot's desk sees customer 2 (EU-DE) and not customer 3 (US-CA).
    const reply = await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 10) { id full_name email residency } }');
    expect(reply.body.errors).toBeUndefined();
    dpo = await kh.token('dpo');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('finds a seen customer by e-mail, trimmed and case-folded, with the masks the answer applied, and audits only the pseudonym', async () => {
    const seen = await whoHasSeen({ email: '  Jonas.Becker@Example.DE ' });
    expect(seen).toMatchObject({ outcome: 'SEEN', matches: 1, subject: pseudonym(2), agents: ['support-bot'] });
    expect(seen.accesses).toHaveLength(1);
    const email = seen.accesses[0].fields.find((f: any) => f.table === 'customers' && f.field === 'email');
    expect(email).toMatchObject({ mask: 'email', rule: expect.any(String) });

    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([{ field: 'whoHasSeen', args: { identifier: 'email', outcome: 'SEEN', subject: pseudonym(2) } }]);
    expect(record.tables).toContain('customers');
    expect(JSON.stringify(record)).not.toMatch(/becker/i);
  });

  it('tells a customer nobody has seen from an identifier that names no customer', async () => {
    expect(await whoHasSeen({ email: 'maria.lopez@example.com' })).toEqual({
      outcome: 'NOT_SEEN',
      matches: 1,
      subject: pseudonym(3),
      agents: [],
      accesses: [],
    });
    expect(await whoHasSeen({ email: 'laura.fischer@gmx.de' })).toEqual({ outcome: 'NO_SUCH_SUBJECT', matches: 0, subject: null, agents: [], accesses: [] });
    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([{ field: 'whoHasSeen', args: { identifier: 'email', outcome: 'NO_SUCH_SUBJECT' } }]);
    expect(JSON.stringify(record)).not.toMatch(/fischer/i);
  });

  it('matches a national id as stored, and a name only with its birth date', async () => {
    expect(await whoHasSeen({ nationalId: '65929970489' })).toMatchObject({ outcome: 'SEEN', subject: pseudonym(2) });
    expect(await whoHasSeen({ name: 'maria lopez', birthDate: '1990-07-21' })).toMatchObject({ outcome: 'NOT_SEEN', subject: pseudonym(3) });
    expect(await whoHasSeen({ name: 'Maria Lopez', birthDate: '1990-07-22' })).toMatchObject({ outcome: 'NO_SUCH_SUBJECT', matches: 0 });
  });

  it('answers AMBIGUOUS with a count and nobody named when several customers match', async () => {
    expect(await whoHasSeen({ name: 'Jonas Becker', birthDate: '1979-11-02' })).toEqual({
      outcome: 'AMBIGUOUS',
      matches: 2,
      subject: null,
      agents: [],
      accesses: [],
    });
    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([{ field: 'whoHasSeen', args: { identifier: 'nameAndBirthDate', outcome: 'AMBIGUOUS' } }]);
  });

  it("answers a data subject's access request with a JSON document: recipients, when, purpose and masks", async () => {
    const reply = await officerQuery(handle, dpo, 'query($s: SubjectIdentifier!) { dataSubjectAccessReport(subject: $s) }', {
      s: { nationalId: '65929970489' },
    });
    expect(reply.body.errors).toBeUndefined();
    const report = reply.body.data!.dataSubjectAccessReport;
    expect(report).toMatchObject({
      answers: ['GDPR Art. 15', 'PDPA s 21'],
      generatedBy: 'dpo',
      outcome: 'SEEN',
      subject: pseudonym(2),
      recipients: ['support-bot'],
    });
    expect(report.disclosures).toHaveLength(1);
    expect(report.disclosures[0]).toMatchObject({
      recipient: 'support-bot',
      purpose: 'customer_service',
      subjectJurisdiction: 'EU-DE',
      at: expect.any(String),
    });
    expect(report.disclosures[0].fields).toContainEqual({ table: 'customers', field: 'email', mask: 'email', rule: expect.any(String) });

    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([
      { field: 'dataSubjectAccessReport', args: { identifier: 'nationalId', outcome: 'SEEN', subject: pseudonym(2) } },
    ]);
    expect(JSON.stringify(record)).not.toMatch(/65929970489/);
  });

  it('keeps the internal id working, and refuses anything but exactly one identifier', async () => {
    const legacy = await officerQuery(handle, dpo, 'query($id: ID!) { whoHasSeen(customerId: $id) { outcome subject agents } }', { id: '2' });
    expect(legacy.body.data!.whoHasSeen).toEqual({ outcome: 'SEEN', subject: pseudonym(2), agents: ['support-bot'] });
    const notAnId = await officerQuery(handle, dpo, 'query($id: ID!) { whoHasSeen(customerId: $id) { outcome agents } }', { id: 'jonas' });
    expect(notAnId.body.data!.whoHasSeen).toEqual({ outcome: 'NO_SUCH_SUBJECT', agents: [] });
    for (const subject of [{}, { email: 'a@b.c', nationalId: '1' }, { name: 'Maria Lopez' }, { name: 'Maria Lopez', birthDate: '1990-02-30' }]) {
      const reply = await ask(subject);
      expect(reply.body.errors?.[0]?.extensions?.code, JSON.stringify(subject)).toBe('INVALID_ARGUMENT');
    }
  });
});
