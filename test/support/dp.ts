import type { Queryable } from '../../src/sql/index.ts';

/** The ε an agent has spent this period, read from the ledger. */
export async function epsilonSpent(db: Queryable, agent: string): Promise<number> {
  const { rows } = await db.query<{ e: string }>('SELECT coalesce(sum(pure_epsilon), 0)::text AS e FROM dp_budget WHERE scope = $1', [`agent:${agent}`]);
  return Number(rows[0]!.e);
}

/** How many DP answers are kept for replay. */
export async function storedDpAnswers(db: Queryable): Promise<number> {
  return Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dp_answers')).rows[0]!.n);
}
