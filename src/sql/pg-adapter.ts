import pg from 'pg';
import { type Db, type Queryable, type QueryResult, type Row, PG_OID, parseInt8, toDatabaseError } from './db.ts';

const typeOverrides = new pg.TypeOverrides();
typeOverrides.setTypeParser(PG_OID.int8, parseInt8);
typeOverrides.setTypeParser(PG_OID.date, (text: string) => text);

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R = Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      try {
        const result = await client.query(text, params as unknown[]);
        return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
  };
}

export interface PgDbOptions {
  connectionString: string;
  max?: number;
  /** The server cancels any statement running longer (a request's deadline); none when absent. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (the server down, or every client busy); 5 s when absent. */
  connectTimeoutMs?: number;
}

/** `Db` over a `pg` Pool: each transaction holds one pooled client from BEGIN to COMMIT/ROLLBACK. */
export function createPgDb(options: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    types: typeOverrides,
    // A request waits for a connection no longer than this during an outage, instead of piling up behind it.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // A server that vanished without closing its sockets (a failover, a network cut) is noticed, not waited on.
    keepAlive: true,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const direct = queryable(pool);
  return {
    kind: 'pg',
    query: direct.query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw toDatabaseError(error);
      }
      const tx = queryable(client);
      let broken = false;
      // The pool listens only while a client is idle: a checked-out client losing its server would otherwise raise
      // an unhandled 'error' and end the process. The failing statement reports it; the client is then discarded.
      const lost = () => {
        broken = true;
      };
      client.on('error', lost);
      try {
        await tx.query('BEGIN');
        const result = await fn(tx);
        await tx.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await pool.query(sql);
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
    poolStats: () => ({ inUse: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }),
  };
}
