import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { useTwoBrokers } from '../support/world.ts';

describe('group-committed audit records from two brokers on one PostgreSQL', () => {
  const world = useTwoBrokers();

  it('answers 60 concurrent reads, each with its own durable record, in one valid chain', async () => {
    const tokens = await Promise.all(world.brokers.map((kh) => kh.token('support-bot')));
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => world.brokers[i % 2]!.graphql(tokens[i % 2]!, `{ customers(limit: ${1 + (i % 5)}) { id } }`)),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const verification = await verifyAuditChain(world.t.db, world.brokers[0]!.broker.secrets.auditKey);
    expect(verification).toMatchObject({ ok: true, checked: 60, headSeq: 60 });
    const { rows } = await world.t.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_log WHERE decision = 'allowed' AND tables = '{customers}'");
    expect(rows[0]!.n).toBe(60);
  });
});
