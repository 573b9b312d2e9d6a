import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/sql/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

// DESIGN.md's performance rule: one SQL statement per GraphQL request for the data, never one per row. A regression
// that adds a statement per row or per nested parent (or a new per-request one) changes these counts.

interface Recorder {
  db: Db;
  /** Every statement sent, on its own, in a transaction, or as trusted SQL. */
  statements: string[];
  transactions: number;
}

const BACKGROUND_CHECKPOINTS = /audit_checkpoints_signed/;

/** The database, noting every statement and transaction that goes through it. */
function recording(db: Db): Recorder {
  const recorder: Recorder = { db, statements: [], transactions: 0 };
  const noting =
    (queryable: Queryable): Queryable['query'] =>
    (text, params) => {
      // The checkpoint signer polls the tree head every second off the request path (src/audit/provable/checkpointer.ts).
      if (!BACKGROUND_CHECKPOINTS.test(text)) recorder.statements.push(text);
      return queryable.query(text, params);
    };
  recorder.db = {
    ...db,
    query: noting(db),
    exec: (sql) => {
      recorder.statements.push(sql);
      return db.exec(sql);
    },
    transaction: (fn) => {
      recorder.transactions += 1;
      return db.transaction((tx) => fn({ query: noting(tx) }));
    },
  };
  return recorder;
}

/**
 * An allowed rows request of support-bot, whatever its rows: the one statement that reads the data, then its
 * record's group commit, one transaction of three: the revocation check (agent_status), the chain head's lock,
 * and one statement writing the audit_log row, its subject list, the Merkle tree's new nodes and the head. (Subjects the broker has not
 * recorded before add a read of their keys, and an insert for those seen for the first time: the requests below
 * are each made once before counting.)
 */
const STATEMENTS_PER_ROWS_REQUEST = 4;

describe.each(ENGINES)('SQL statements per request on $engine', ({ create }) => {
  let t: TestDatabase;
  let recorder: Recorder;
  let kh: TestBroker;
  let token: string;
  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    recorder = recording(t.db);
    kh = await startTestBroker(recorder.db);
    token = await kh.token('support-bot');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  /** What one request sends to the database, once its subjects have keys. */
  const countFor = async (query: string) => {
    expect((await kh.graphql(token, query)).status).toBe(200);
    recorder.statements.length = 0;
    recorder.transactions = 0;
    const reply = await kh.graphql(token, query);
    expect(reply.status).toBe(200);
    return { reply, statements: [...recorder.statements], transactions: recorder.transactions };
  };

  it('reads one row in one statement and records it in one group commit', async () => {
    const { reply, statements, transactions } = await countFor('{ customers(limit: 1) { id full_name } }');
    expect(reply.body.data!.customers).toHaveLength(1);
    expect(statements).toHaveLength(STATEMENTS_PER_ROWS_REQUEST);
    expect(statements.filter((text) => text.includes('FROM "customers"'))).toHaveLength(1);
    expect(transactions).toBe(1);
  });

  it('reads every row and its nested accounts in the same one statement', async () => {
    const { reply, statements, transactions } = await countFor('{ customers(limit: 6) { id full_name accounts { id currency } } }');
    const customers = reply.body.data!.customers as Array<{ accounts: unknown[] }>;
    expect(customers.length).toBeGreaterThan(3);
    expect(customers.flatMap((customer) => customer.accounts).length).toBeGreaterThan(customers.length);
    expect(statements).toHaveLength(STATEMENTS_PER_ROWS_REQUEST);
    expect(statements.filter((text) => /FROM "(customers|accounts)"/.test(text))).toHaveLength(1);
    expect(transactions).toBe(1);
  });
});
