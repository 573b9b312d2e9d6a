import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { operationHash } from '../../src/audit/index.ts';
import { useTwoBrokers } from '../support/world.ts';

/** A hand-made query with an identifier written into its text, not passed as a variable. */
const QUERY = 'query Lookup { viewer { agent } } # customer ada@example.com';

/**
 * The operation hash lets officers group equal queries across brokers, but it is keyed: hashing a guessed
 * query text (a guessed e-mail address in it) does not find the record.
 */
describe('the operation hash in audit records', () => {
  const world = useTwoBrokers();

  it('is the same on two brokers with the same data dir, and is not the plain SHA-256 of the query text', async () => {
    const hashes: string[] = [];
    for (const kh of world.brokers) {
      const reply = await kh.graphql(await kh.token('support-bot'), QUERY);
      expect(reply.body.data).toEqual({ viewer: { agent: 'support-bot' } });
      const rows = await world.t.db.query<{ operation_hash: string }>('SELECT operation_hash FROM audit_log WHERE request_id = $1', [reply.requestId]);
      hashes.push(rows.rows[0]!.operation_hash);
    }
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[0]).toBe(operationHash(world.brokers[0].broker.secrets.auditKey, QUERY));
    const plain = createHash('sha256').update(QUERY).digest('hex');
    const found = await world.t.db.query('SELECT seq FROM audit_log WHERE operation_hash = $1 OR details::text LIKE $2', [plain, `%${plain}%`]);
    expect(found.rows).toEqual([]);
  });
});
