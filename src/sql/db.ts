/**
 * `Db` is the one interface to the database. Callers never see which engine runs underneath:
 * both adapters return the same JS types (int8 as number when safe else bigint, numeric as
 * string, date as 'YYYY-MM-DD', timestamptz as Date, bytea as Uint8Array, json as objects).
 */
export type Row = Record<string, unknown>;

export interface QueryResult<R = Row> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** Runs one parameterised statement. `text` must never contain user input. */
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs trusted multi-statement SQL (migrations, DDL files shipped with Keyhole): no parameters. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** Connections checked out of the pool and callers waiting for one (metrics); absent where there is no pool. */
  poolStats?(): { inUse: number; waiting: number };
}

/** A database failure, with the engine's message kept for logs only (never sent to an agent). */
export class DatabaseError extends Error {
  readonly sqlState: string | undefined;
  constructor(message: string, options: { cause?: unknown; sqlState?: string | undefined } = {}) {
    super(message, { cause: options.cause });
    this.name = 'DatabaseError';
    this.sqlState = options.sqlState;
  }

  /** The server is unreachable or shutting down (SQLSTATE classes 08, 53, 57 but a statement timeout, or no SQLSTATE at all). */
  get unavailable(): boolean {
    return !this.timedOut && (this.sqlState === undefined || !/^[0-9A-Z]{5}$/.test(this.sqlState) || /^(08|53|57)/.test(this.sqlState));
  }

  /** The statement ran past `statement_timeout`: the request's deadline, not the server's health. */
  get timedOut(): boolean {
    return this.sqlState === '57014';
  }
}

export function toDatabaseError(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const sqlState = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError(message, { cause: error, sqlState });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** int8 text from the wire: a number when it fits exactly, else a bigint. */
export function parseInt8(text: string): number | bigint {
  const value = BigInt(text);
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
}

export const PG_OID = {
  int8: 20,
  date: 1082,
  numeric: 1700,
} as const;
