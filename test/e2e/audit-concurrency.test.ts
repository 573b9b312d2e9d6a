import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createPgDb } from '../../src/sql/index.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';

describe('group-committed audit records from two brokers on one PostgreSQL', () => {
  let t: TestDatabase;
  let brokers: TestBroker[];
  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    const shared = await startTestBroker(t.db, { root: PROJECT_ROOT });
    // Same keys (data dir) for the second process, its own pool: as two replicas behind a load balancer.
    const second = await startTestBroker(createPgDb({ connectionString: t.url!, max: 8 }), { dataDir: shared.dataDir });
    brokers = [shared, second];
  });
  afterAll(async () => {
    await brokers[1]!.broker.db.close();
    await brokers[0]!.close();
    await t.drop();
  });

  it('answers 60 concurrent reads, each with its own durable record, in one valid chain', async () => {
    const tokens = await Promise.all(brokers.map((kh) => kh.token('support-bot')));
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => brokers[i % 2]!.graphql(tokens[i % 2]!, `{ customers(limit: ${1 + (i % 5)}) { id } }`)),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const verification = await verifyAuditChain(t.db, brokers[0]!.broker.secrets.auditKey);
    expect(verification).toMatchObject({ ok: true, checked: 60, headSeq: 60 });
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_log WHERE decision = 'allowed' AND tables = '{customers}'");
    expect(rows[0]!.n).toBe(60);
  });
});
