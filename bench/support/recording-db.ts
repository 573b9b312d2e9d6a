/** A `Db` that passes everything through and keeps the last statement matching a pattern, to rerun it alone. */
import type { Db, Queryable } from '../../src/sql/index.ts';

export interface RecordedStatement {
  text: string;
  params: readonly unknown[];
}

export function recordingDb(db: Db, pattern: RegExp): { db: Db; last: () => RecordedStatement | null } {
  let last: RecordedStatement | null = null;
  const recording =
    (queryable: Queryable): Queryable['query'] =>
    (text, params = []) => {
      if (pattern.test(text)) last = { text, params };
      return queryable.query(text, params);
    };
  return {
    db: {
      kind: db.kind,
      query: recording(db),
      transaction: (fn) => db.transaction((tx) => fn({ query: recording(tx) })),
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
    },
    last: () => last,
  };
}
