import { randomBytes } from 'node:crypto';
import { compileCondition, type Condition, ident, Params, subjectJoin, type TableLookup } from '../sql/index.ts';
import { type AggregatePlan, SUBJECT_JURISDICTION } from './aggregate-plan.ts';
import type { AggregateRow } from './aggregate-terms.ts';
import { boundedStatistic, QUANTILE_BINS, SUMMED, type SummedPrimitive } from './primitives.ts';

export type { AggregateRow } from './aggregate-terms.ts';
export { QUANTILE_BINS } from './primitives.ts';

export interface CompiledAggregate {
  text: string;
  params: unknown[];
  parse(rows: Array<Record<string, unknown>>): AggregateRow[];
}

/**
 * One statement that bounds contributions and aggregates, so no table is pulled into Node:
 * each data subject keeps at most k rows, chosen at random (not the first k), values are clamped to the
 * catalog's bounds and scaled to integers, then counted, summed (each primitive's bounded statistic) and binned per group.
 */
export function compileAggregate(plan: AggregatePlan, conditions: readonly Condition[], lookup: TableLookup): CompiledAggregate {
  const table = plan.viewTable.table;
  const params = new Params();
  const alias = 't0';
  // Inner join: a row with no data subject cannot be bounded per subject, so it never counts.
  const subject = subjectJoin(table, alias, lookup, 'INNER');
  const scope = { alias, jurisdiction: subject.jurisdiction };
  const where = conditions.map((c) => compileCondition(scope, c, params));
  const keyExpr = (key: string) => (key === SUBJECT_JURISDICTION ? subject.jurisdiction : `${alias}.${ident(key)}`);
  const keys = plan.groupBy.map((key, i) => `${keyExpr(key)}::text AS g${i}`);
  const fields = [...new Set(plan.primitives.filter((p) => p.op !== 'count').map((p) => (p as { field: string }).field))];
  const values = fields.map((field, i) => {
    const column = table.columns.get(field)!;
    const [lower, upper] = column.bounds!;
    const clamped = `least(greatest(${alias}.${ident(field)}::numeric, ${params.add(lower, 'numeric')}), ${params.add(upper, 'numeric')})`;
    return `${clamped} AS v${i}`;
  });
  const k = params.add(plan.rowsPerSubject, 'int8');
  // Which k rows a subject keeps is a keyed hash of the row's key under a fresh random seed per query: as fair
  // as random(), but parallel-safe, so PostgreSQL can scan, join and sort in parallel workers.
  const seed = params.add(randomBytes(8).readBigInt64BE(), 'int8');
  const order = `hashtextextended(${alias}.${ident(table.primaryKey)}::text, ${seed})`;
  const base =
    `SELECT ${[...keys, ...values, `row_number() OVER (PARTITION BY ${subject.subject} ORDER BY ${order}) AS rn`].join(', ')} ` +
    `FROM ${ident(table.name)} ${alias}${subject.join}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
  const groupCols = plan.groupBy.map((_, i) => `g${i}`);
  const groupBy = groupCols.length > 0 ? ` GROUP BY ${groupCols.join(', ')}` : '';
  const summed = plan.primitives.filter((p): p is SummedPrimitive => p.op in SUMMED);
  const sumColumn = (p: SummedPrimitive) => `${SUMMED[p.op].column}_${p.field}`;
  const sums = summed.map((p) => `${boundedStatistic(p, plan).sql(`v${fields.indexOf(p.field)}`)}::text AS ${sumColumn(p)}`);
  const histFields = fields.filter((field) => plan.primitives.some((p) => p.op === 'quantile' && p.field === field));
  const histograms = histFields.map((field) => {
    const [lower, upper] = table.columns.get(field)!.bounds!;
    const v = `v${fields.indexOf(field)}`;
    const bucket = `least(width_bucket(${v}, ${params.add(lower, 'numeric')}, ${params.add(upper, 'numeric')}, ${QUANTILE_BINS}), ${QUANTILE_BINS})`;
    const inner = `SELECT ${[...groupCols, `${bucket} AS b`, 'count(*) AS c'].join(', ')} FROM kept GROUP BY ${[...groupCols, 'b'].join(', ')}`;
    const join = groupCols.length > 0 ? groupCols.map((g) => `h.${g} IS NOT DISTINCT FROM a.${g}`).join(' AND ') : 'true';
    return `(SELECT jsonb_object_agg(h.b, h.c) FROM (${inner}) h WHERE ${join}) AS h_${field}`;
  });
  const aggregated = `SELECT ${[...groupCols, 'count(*)::int8 AS n', ...sums].join(', ')} FROM kept${groupBy}`;
  const text = `WITH kept AS (SELECT * FROM (${base}) base WHERE rn <= ${k}) ` + `SELECT ${['a.*', ...histograms].join(', ')} FROM (${aggregated}) a`;
  return {
    text,
    params: params.values,
    parse: (rows) =>
      rows.map((row) => {
        const parsed: AggregateRow = {
          keys: groupCols.map((g) => (row[g] as string | null) ?? null),
          count: BigInt(row.n as number | bigint),
          sums: new Map(),
          squares: new Map(),
          histograms: new Map(
            histFields.map((field) => {
              const bins = new Array<number>(QUANTILE_BINS).fill(0);
              for (const [bin, count] of Object.entries((row[`h_${field}`] as Record<string, number> | null) ?? {})) bins[Number(bin) - 1] = Number(count);
              return [field, bins];
            }),
          ),
        };
        for (const p of summed) parsed[SUMMED[p.op].row]!.set(p.field, BigInt((row[sumColumn(p)] as string | null) ?? '0'));
        return parsed;
      }),
  };
}
