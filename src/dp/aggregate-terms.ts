/** The shapes the DP planner, the SQL builder, the registry and the release share (no logic, no imports). */

/** What an agent asks of each group: the outputs it selected (see aggregates.ts for what each one is). */
export type Output =
  | { op: 'count' }
  | { op: 'sum'; field: string }
  | { op: 'avg'; field: string }
  | { op: 'quantile'; field: string; q: number }
  | { op: 'variance'; field: string }
  | { op: 'stddev'; field: string };

/** A measurement drawn from the data, with its own share of the budget (see primitives.ts). */
export type Primitive = { op: 'count' } | { op: 'sum'; field: string } | { op: 'sum_of_squares'; field: string } | { op: 'quantile'; field: string; q: number };

/** A primitive drawn by its own mechanism (primitives.ts); the count is drawn with the groups (release.ts). */
export type MeasuredPrimitive = Exclude<Primitive, { op: 'count' }>;

/** Names an output or a primitive: equal keys ask the same thing. */
export const outputKey = (o: Output | Primitive): string => ('q' in o ? `${o.op}:${o.field}:${o.q}` : 'field' in o ? `${o.op}:${o.field}` : o.op);

/** One group's bounded statistics as the aggregate statement returns them. */
export interface AggregateRow {
  /** Group key values, in `plan.groupBy` order. */
  keys: Array<string | null>;
  count: bigint;
  /** Per summed field: the sum of clamped values, in integer units of the field's precision. */
  sums: Map<string, bigint>;
  /** Per field whose variance was asked: Σ(2x - (L + U))² over the clamped values x in units (see makeBoundedSumOfSquares). */
  squares?: Map<string, bigint>;
  /** Per quantile field: counts per bin (1-based bins in SQL, 0-based here). */
  histograms: Map<string, number[]>;
}
