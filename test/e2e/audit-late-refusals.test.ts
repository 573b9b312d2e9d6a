import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditBatcher, verifyAuditChain } from '../../src/audit/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const KEY = new Uint8Array(32).fill(7);

describe.each(ENGINES)('refusals recorded late on $engine', ({ create }) => {
  let t: TestDatabase;
  const recorded = async () =>
    (await t.db.query<{ request_id: string; decision: string }>('SELECT request_id, decision FROM audit_log ORDER BY seq')).rows.map(
      (row) => `${row.request_id}:${row.decision}`,
    );
  beforeEach(async () => {
    t = await create();
    await migrate(t.db);
  });
  afterEach(async () => {
    await t.drop();
  });

  it('writes a refusal once the log takes records again — once per request, and never an allowed draft whose batch failed', async () => {
    const batcher = new AuditBatcher(t.db, KEY, { retryMs: 50 });
    await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
    const denied = auditDraft({ requestId: 'r-denied', decision: 'denied', code: 'DATABASE_UNAVAILABLE' });
    await expect(batcher.append(denied)).rejects.toThrow();
    await expect(batcher.append(auditDraft({ requestId: 'r-allowed' }))).rejects.toThrow();
    // The same request recording its refusal again from a later stage.
    await expect(batcher.append({ ...denied, code: 'BAD_REQUEST' })).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await recorded()).toEqual([]);
    await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await recorded()).toEqual(['r-denied:denied']);
    expect((await t.db.query<{ code: string }>('SELECT code FROM audit_log')).rows).toEqual([{ code: 'DATABASE_UNAVAILABLE' }]);
    await batcher.flush();
    expect(await recorded()).toEqual(['r-denied:denied']);
    expect((await verifyAuditChain(t.db, KEY)).ok).toBe(true);
  });

  it('tries once more on flush, and on stop logs the request ids still unrecordable and gives up', async () => {
    const events: Array<Record<string, unknown>> = [];
    const batcher = new AuditBatcher(t.db, KEY, { retryMs: 50, log: (event) => events.push(event) });
    await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
    await expect(batcher.append(auditDraft({ requestId: 'r-1', decision: 'error' }))).rejects.toThrow();
    await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
    await batcher.flush();
    expect(await recorded()).toEqual(['r-1:error']);
    await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
    await expect(batcher.append(auditDraft({ requestId: 'r-2', decision: 'denied' }))).rejects.toThrow();
    batcher.stop();
    expect(events).toContainEqual(expect.objectContaining({ level: 'error', requestIds: ['r-2'] }));
    await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await recorded()).toEqual(['r-1:error']);
  });
});
