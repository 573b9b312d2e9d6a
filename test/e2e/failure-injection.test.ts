import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { DatabaseError, type Db, type Queryable } from '../../src/sql/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';

const QUERY = '{ customers(limit: 5) { id residency } }';

/** The real database, with the connection "lost" at the first read of customer data. */
function losingConnectionAtRead(db: Db): Db {
  let lost = false;
  const failFirstRead =
    (query: Queryable['query']): Queryable['query'] =>
    (text, params) => {
      if (!lost && text.includes('FROM "customers"')) {
        lost = true;
        return Promise.reject(new DatabaseError('connection terminated unexpectedly', { sqlState: '08006' }));
      }
      return query(text, params);
    };
  return {
    ...db,
    query: failFirstRead(db.query),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn({ query: failFirstRead(tx.query) })),
  };
}

describe.each(ENGINES)('database failure mid-request on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let token: string;
  const count = async (where = 'true') => Number((await t.db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM audit_log WHERE ${where}`)).rows[0]!.n);
  beforeEach(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    token = await kh.token('support-bot');
    expect((await kh.graphql(token, QUERY)).status).toBe(200);
  });
  afterEach(async () => {
    await kh.close();
    await t.drop();
  });

  it('sends no data and writes no record when the audit record cannot be written', async () => {
    await t.db.exec('ALTER TABLE audit_log ADD CONSTRAINT audit_frozen CHECK (seq < 0) NOT VALID');
    const reply = await kh.graphql(token, QUERY);
    expect(reply.status).toBe(503);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.body.errors![0]!.extensions?.code).toBe('AUDIT_UNAVAILABLE');
    expect(JSON.stringify(reply.body)).not.toMatch(/audit_frozen|constraint|SELECT/i);
    await t.db.exec('ALTER TABLE audit_log DROP CONSTRAINT audit_frozen');
    // No record of an answer; the refusal itself may be recorded late, once the log takes records again.
    expect(await count("decision = 'allowed'")).toBe(1);
    expect(await verifyAuditChain(t.db, kh.broker.secrets.auditKey)).toMatchObject({ ok: true });
  });

  it('sends no data when the commit itself fails', async () => {
    await t.db.exec(`
      CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_commit();`);
    const reply = await kh.graphql(token, QUERY);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.status).toBeGreaterThanOrEqual(500);
    await t.db.exec('DROP TRIGGER refuse_commit ON audit_log');
    expect(await count("decision = 'allowed'")).toBe(1);
    const subjects = await t.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_subjects WHERE audit_seq > 1');
    expect(Number(subjects.rows[0]!.n)).toBe(0);
    expect((await verifyAuditChain(t.db, kh.broker.secrets.auditKey)).ok).toBe(true);
  });

  it('answers 503 with no data when a read fails, and records the failure on its own', async () => {
    const flaky = await startTestBroker(losingConnectionAtRead(t.db));
    try {
      const reply = await flaky.graphql(await flaky.token('support-bot'), QUERY);
      expect(reply.status).toBe(503);
      expect(reply.body.data ?? null).toBeNull();
      expect(reply.body.errors![0]!.extensions?.code).toBe('DATABASE_UNAVAILABLE');
      const { rows } = await t.db.query<{ decision: string; code: string; row_count: number; subject_count: number }>(
        'SELECT decision, code, row_count, subject_count FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      expect(rows[0]).toEqual({ decision: 'error', code: 'DATABASE_UNAVAILABLE', row_count: 0, subject_count: 0 });
    } finally {
      await flaky.close();
    }
  });
});
