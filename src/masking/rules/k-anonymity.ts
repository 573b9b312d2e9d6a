/**
 * `keyhole rules explain --k-anonymity`: on the real data, the smallest group of rows that share the
 * same quasi-identifier values an agent's view shows after masking (birth year, postal prefix, city…).
 * Masks SQL can express (clear, generalize_date, truncate_postal_code, nullify, hide) are grouped in
 * PostgreSQL; any other mask is applied in TypeScript over the projection, read in key-ordered batches.
 */
import type { ProjectConfig } from '../../config/index.ts';
import { type MaskVariant, rowFilterConditions, type View, type ViewField, type ViewTable } from '../../policy/index.ts';
import { compileSelect, type Condition, ident, JURISDICTION_KEY, Params, type Queryable, type SelectRequest } from '../../sql/index.ts';

type BaseSelect = Omit<SelectRequest, 'conditions' | 'limit'> & { columns: string[] };
import { applyExposure } from './apply.ts';
import { variantSourceOf } from './equality-target.ts';

export const DEFAULT_K_THRESHOLD = 5;
const BATCH = 5000;
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

export interface KAnonymityResult {
  table: string;
  quasiIdentifiers: Array<{ field: string; shows: string }>;
  rows: number;
  groups: number;
  /** The smallest group's size; null when the view shows no row. */
  k: number | null;
  smallestGroup: Record<string, unknown> | null;
  method: 'sql' | 'typescript';
}

type SqlMask = (x: string, params: Params) => string;

/** The SQL that masks `x` as the variant does in TypeScript, when there is one. */
function sqlMaskOf(variant: MaskVariant | null): SqlMask | undefined {
  if (variant === null || variant.mask === 'hide' || variant.mask === 'nullify') return () => 'NULL::text';
  const source = variantSourceOf(variant);
  if (variant.mask === 'clear') return (x) => `${x}::text`;
  if (!source) return undefined;
  const p = source.params;
  if (source.mask === 'generalize_date') {
    const year = (x: string) => `extract(year from ${x})::int::text`;
    if (p.to === 'quarter') return (x) => `${year(x)} || '-Q' || extract(quarter from ${x})::int::text`;
    if (p.to === 'month') return (x) => `${year(x)} || '-' || lpad(extract(month from ${x})::int::text, 2, '0')`;
    return year;
  }
  if (source.mask === 'truncate_postal_code') {
    return (x, params) => {
      const keep = params.add(p.keep, 'int4');
      const char = params.add(p.maskChar, 'text');
      return `CASE WHEN char_length(${x}::text) <= ${keep} THEN repeat(${char}, char_length(${x}::text)) ELSE left(${x}::text, ${keep}) || repeat(${char}, char_length(${x}::text) - ${keep}) END`;
    };
  }
  return undefined;
}

function describeField(field: ViewField): string {
  const e = field.exposure;
  if (e.kind === 'clear') return 'clear';
  const masks = new Set([...e.byJurisdiction.values()].map((v) => v.mask).concat(e.otherwise ? [e.otherwise.mask] : ['withheld']));
  return [...masks].join(' / ');
}

/** One masked column as SQL over the subquery `s`, routed by the row's subject jurisdiction. */
function sqlExpression(name: string, field: ViewField, params: Params): string | undefined {
  const x = `s.${ident(name)}`;
  const e = field.exposure;
  if (e.kind === 'clear') return `${x}::text`;
  const otherwise = sqlMaskOf(e.otherwise);
  if (!otherwise) return undefined;
  const branches: string[] = [];
  for (const [jurisdiction, variant] of e.byJurisdiction) {
    const mask = sqlMaskOf(variant);
    if (!mask) return undefined;
    branches.push(`WHEN s.${JSON.stringify(JURISDICTION_KEY)} = ${params.add(jurisdiction, 'text')} THEN ${mask(x, params)}`);
  }
  const fallback = otherwise(x, params);
  return branches.length === 0 ? fallback : `CASE ${branches.join(' ')} ELSE ${fallback} END`;
}

export async function measureKAnonymity(db: Queryable, config: ProjectConfig, view: View): Promise<KAnonymityResult[]> {
  const lookup = (name: string) => config.catalog.tables.get(name)!;
  const results: KAnonymityResult[] = [];
  for (const viewTable of view.tables.values()) {
    if (viewTable.policy.access !== 'rows') continue;
    const qis = [...viewTable.fields].filter(([, f]) => f.column.quasiIdentifier);
    if (qis.length === 0) continue;
    const conditions = rowFilterConditions(view, viewTable);
    // The rows this agent may see: its row filter, and no row of a jurisdiction compliance withholds from it.
    const base: BaseSelect = { table: viewTable.table, columns: qis.map(([name]) => name), orderBy: [], offset: 0, nested: [], withheld: viewTable.withheld };
    const quasiIdentifiers = qis.map(([field, f]) => ({ field, shows: describeField(f) }));
    const params = new Params();
    const expressions = qis.map(([name, f]) => sqlExpression(name, f, params));
    if (expressions.every((e): e is string => e !== undefined)) {
      const inner = compileSelect({ ...base, conditions, limit: ALL_ROWS }, lookup);
      // The inner statement's $n come first; the mask expressions' parameters are renumbered after them.
      const shift = inner.params.length;
      const renumber = (sql: string) => sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`);
      const keys = expressions.map((e, i) => `${renumber(e)} AS q${i}`);
      const text =
        `WITH g AS (SELECT ${keys.join(', ')}, count(*) AS n FROM (${inner.text}) s GROUP BY ${keys.map((_, i) => i + 1).join(', ')}) ` +
        `SELECT (SELECT count(*) FROM g)::int8 AS groups, (SELECT coalesce(sum(n), 0) FROM g)::int8 AS rows, g.* FROM g ORDER BY n ASC LIMIT 1`;
      const { rows } = await db.query<Record<string, unknown>>(text, [...inner.params, ...params.values]);
      const row = rows[0];
      results.push({
        table: viewTable.table.name,
        quasiIdentifiers,
        rows: Number(row?.rows ?? 0),
        groups: Number(row?.groups ?? 0),
        k: row ? Number(row.n) : null,
        smallestGroup: row ? Object.fromEntries(qis.map(([name], i) => [name, row[`q${i}`]])) : null,
        method: 'sql',
      });
    } else {
      results.push(await measureInTypeScript(db, viewTable, conditions, base, quasiIdentifiers, lookup));
    }
  }
  return results;
}

async function measureInTypeScript(
  db: Queryable,
  viewTable: ViewTable,
  conditions: Condition[],
  base: BaseSelect,
  quasiIdentifiers: KAnonymityResult['quasiIdentifiers'],
  lookup: (name: string) => ViewTable['table'],
): Promise<KAnonymityResult> {
  const table = viewTable.table;
  const pk = table.columns.get(table.primaryKey)!;
  const groups = new Map<string, number>();
  let rows = 0;
  let last: unknown;
  for (;;) {
    const after: Condition[] = last === undefined ? [] : [{ kind: 'comparison', comparison: { column: pk, operator: 'gt', value: last } }];
    const select = compileSelect({ ...base, columns: [...base.columns, table.primaryKey], conditions: [...conditions, ...after], limit: BATCH }, lookup);
    const batch = await db.query<Record<string, unknown>>(select.text, select.params);
    for (const row of batch.rows) {
      const jurisdiction = (row[JURISDICTION_KEY] as string | null | undefined) ?? null;
      const key = JSON.stringify(base.columns.map((name) => applyExposure(viewTable.fields.get(name)!.exposure, row[name], jurisdiction)));
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    rows += batch.rows.length;
    if (batch.rows.length < BATCH) break;
    last = batch.rows[batch.rows.length - 1]![table.primaryKey];
  }
  let smallest: [string, number] | undefined;
  for (const entry of groups) if (!smallest || entry[1] < smallest[1]) smallest = entry;
  return {
    table: table.name,
    quasiIdentifiers,
    rows,
    groups: groups.size,
    k: smallest ? smallest[1] : null,
    smallestGroup: smallest ? Object.fromEntries((JSON.parse(smallest[0]) as unknown[]).map((v, i) => [base.columns[i]!, v])) : null,
    method: 'typescript',
  };
}
