import { PGlite, type Transaction } from '@electric-sql/pglite';
import { type Db, type Queryable, type QueryResult, type Row, PG_OID, parseInt8, toDatabaseError } from './db.ts';

const parsers = {
  [PG_OID.int8]: parseInt8,
  [PG_OID.date]: (text: string) => text,
};

function queryable(target: PGlite | Transaction): Queryable {
  return {
    async query<R = Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      try {
        const result = await target.query<R>(text, params as unknown[], { parsers });
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
  };
}

export interface PgliteDbOptions {
  /** A directory to persist to; in memory when absent. */
  dataDir?: string | undefined;
  /** An initialised data directory (PGlite's `dumpDataDir`) to start from, instead of running initdb (~2.5 s). */
  template?: Blob | undefined;
}

/** `Db` over embedded PGlite. PGlite serialises all statements, so a transaction excludes every other query. */
export async function createPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      parsers,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.template ? { loadDataDir: options.template } : {}),
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
  const direct = queryable(pglite);
  return {
    kind: 'pglite',
    query: direct.query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let failedInside = false;
      try {
        return await pglite.transaction(async (tx) => {
          try {
            return await fn(queryable(tx));
          } catch (error) {
            failedInside = true;
            throw error;
          }
        });
      } catch (error) {
        throw failedInside ? error : toDatabaseError(error);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await pglite.exec(sql);
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async close(): Promise<void> {
      await pglite.close();
    },
  };
}
