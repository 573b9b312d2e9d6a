import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAuditRecords, verifyAuditChainFromPoint } from '../../src/audit/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { emptyAuditLog, fullAuditDraft } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

const key = randomBytes(32);

describe('verifying the chain from the last verified point', () => {
  let t: TestDatabase;
  let next = 1;
  const append = async (count: number) => {
    const drafts = Array.from({ length: count }, () => fullAuditDraft(next++));
    await t.db.transaction((tx) => appendAuditRecords(tx, key, drafts));
  };
  const verify = (full = false) => verifyAuditChainFromPoint(t.db, key, { full });
  const tamper = (seq: number) => t.db.query('UPDATE audit_log SET row_count = row_count + 1 WHERE seq = $1', [seq]);

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t?.drop());
  beforeEach(async () => {
    await emptyAuditLog(t.db);
    next = 1;
  });

  it('walks the whole chain first, then only the records appended since, and says what it covered', async () => {
    await append(5);
    expect(await verify()).toMatchObject({ ok: true, checked: 5, verifiedFrom: 0, verifiedThrough: 5, fullVerifiedAt: expect.any(Date) });
    await append(3);
    const resumed = await verify();
    expect(resumed).toMatchObject({ ok: true, checked: 3, verifiedFrom: 5, verifiedThrough: 8, headSeq: 8 });
    expect(resumed.coverage).toMatch(/records 6-8; records up to 5 .* full verification/);
  });

  it('finds a change after the verified point, and does not move the point past it', async () => {
    await append(5);
    await verify();
    await append(3);
    await tamper(7);
    expect((await verify()).firstBad).toEqual({ seq: 7, problem: 'changed', detail: expect.any(String) });
    expect(await verify()).toMatchObject({ ok: false, verifiedFrom: 5 });
  });

  it('leaves a change before the point to the full check', async () => {
    await append(5);
    await verify();
    await tamper(2);
    expect((await verify()).ok).toBe(true);
    expect((await verify(true)).firstBad).toMatchObject({ seq: 2, problem: 'changed' });
  });

  it('walks the whole chain when the point was moved by a hand without the audit key', async () => {
    await append(5);
    await verify();
    await tamper(2);
    await t.db.query('UPDATE audit_verified_point SET hash = (SELECT hash FROM audit_log WHERE seq = 4), seq = 4');
    const result = await verify();
    expect(result.bad.map((fault) => [fault.seq, fault.problem])).toEqual([
      [0, 'checkpoint_invalid'],
      [2, 'changed'],
    ]);
    expect(result.verifiedFrom).toBe(0);
  });
});
