import type { CatalogRelation, CatalogTable } from '../config/index.ts';
import { compileCondition, type Condition, ident, Params } from './conditions.ts';

export interface OrderTerm {
  column: string;
  direction: 'ASC' | 'DESC';
}

/** One table's part of a read: what to project, filter, order and nest. Built by the GraphQL stage. */
export interface SelectRequest {
  table: CatalogTable;
  columns: readonly string[];
  /** Policy row filter and agent `where`, already turned into conditions. */
  conditions: readonly Condition[];
  orderBy: readonly OrderTerm[];
  limit: number;
  offset: number;
  nested: ReadonlyArray<{ key: string; relation: CatalogRelation; request: SelectRequest }>;
  /** Subject jurisdictions whose rows must not reach this agent (compliance): filtered out, and counted. */
  withheld?: readonly string[];
}

export interface CompiledSelect {
  text: string;
  params: unknown[];
}

/** Result keys that carry who each row is about; never shown to agents. */
export const SUBJECT_KEY = '__subject';
export const JURISDICTION_KEY = '__jurisdiction';
/** Result key of the withheld-row count a read carries on each of its rows (`compileSelect`'s `countWithheld`). */
export const WITHHELD_KEY = '__withheld';

/** Resolves table names (subject paths point at other tables) to their catalog entries. */
export type TableLookup = (name: string) => CatalogTable;

/** SQL that finds each row's data subject: a join to append after the table, and the two expressions. */
export interface SubjectJoin {
  join: string;
  subject: string;
  jurisdiction: string;
}

/** A LATERAL join yielding the row's data subject id and jurisdiction by following the subject path. */
export function subjectJoin(table: CatalogTable, alias: string, lookup: TableLookup, kind: 'LEFT' | 'INNER' = 'LEFT'): SubjectJoin {
  if (table.subjectPath.length === 0) {
    const jurisdiction = table.jurisdiction ? `${alias}.${ident(table.jurisdiction.column)}` : 'NULL::text';
    return { join: '', subject: `${alias}.${ident(table.primaryKey)}`, jurisdiction };
  }
  const hops: string[] = [];
  let from = alias;
  let lastAlias = alias;
  table.subjectPath.forEach((hop, i) => {
    const hopAlias = `${alias}_h${i}`;
    const on = `${hopAlias}.${ident(hop.targetColumn)} = ${from}.${ident(hop.column)}`;
    hops.push(i === 0 ? `FROM ${ident(hop.table)} ${hopAlias}` : `JOIN ${ident(hop.table)} ${hopAlias} ON ${on}`);
    if (i === 0) hops.push(`WHERE ${on}`);
    from = hopAlias;
    lastAlias = hopAlias;
  });
  const where = hops.splice(1, 1)[0]!;
  const root = lookup(table.subjectPath[table.subjectPath.length - 1]!.table);
  const jurisdiction = root.jurisdiction ? `${lastAlias}.${ident(root.jurisdiction.column)}` : 'NULL::text';
  const subjectAlias = `${alias}_s`;
  return {
    join: ` ${kind} JOIN LATERAL (SELECT ${lastAlias}.${ident(root.primaryKey)} AS subject, ${jurisdiction} AS jurisdiction ${hops.join(' ')} ${where}) ${subjectAlias} ON true`,
    subject: `${subjectAlias}.subject`,
    jurisdiction: `${subjectAlias}.jurisdiction`,
  };
}

class SelectCompiler {
  private aliasCount = 0;
  readonly params = new Params();
  private readonly lookup: TableLookup;
  constructor(lookup: TableLookup) {
    this.lookup = lookup;
  }

  alias(): string {
    return `t${this.aliasCount++}`;
  }

  subjectJoin(table: CatalogTable, alias: string): SubjectJoin {
    return subjectJoin(table, alias, this.lookup);
  }

  /** Columns are projected raw; values are masked in TypeScript after the read (masks may need secrets). */
  projection(request: SelectRequest, alias: string, subject: { subject: string; jurisdiction: string }): Array<[string, string]> {
    const items: Array<[string, string]> = request.columns.map((column) => {
      const type = request.table.columns.get(column)!.type;
      // numeric travels as text inside JSON so no digit is lost to a float.
      const expression = `${alias}.${ident(column)}`;
      return [column, type === 'numeric' ? `${expression}::text` : expression];
    });
    items.push([SUBJECT_KEY, subject.subject], [JURISDICTION_KEY, subject.jurisdiction]);
    for (const nested of request.nested) items.push([nested.key, this.nestedExpression(nested, alias)]);
    return items;
  }

  /** The parts of one table's SELECT: its projection, FROM with the subject join, WHERE, ORDER/LIMIT. */
  core(request: SelectRequest, alias: string, link: string | null): { items: Array<[string, string]>; from: string; page: () => string } {
    const subject = this.subjectJoin(request.table, alias);
    const items = this.projection(request, alias, subject);
    const scope = { alias, jurisdiction: subject.jurisdiction };
    const conditions = [...request.conditions, ...withheldCondition(request.withheld ?? [], 'notIn')].map((c) => compileCondition(scope, c, this.params));
    if (link) conditions.unshift(link);
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    const order = request.orderBy.map((term) => `${alias}.${ident(term.column)} ${term.direction}`);
    // The primary key last makes every page order total, so offsets never skip or repeat a row.
    order.push(`${alias}.${ident(request.table.primaryKey)} ASC`);
    // Bound only when used: a to-one relation has no page, and an unused parameter has no type.
    const page = () => {
      const limit = this.params.add(request.limit, 'int8');
      const offset = request.offset > 0 ? ` OFFSET ${this.params.add(request.offset, 'int8')}` : '';
      return ` ORDER BY ${order.join(', ')} LIMIT ${limit}${offset}`;
    };
    return { items, from: `FROM ${ident(request.table.name)} ${alias}${subject.join}${where}`, page };
  }

  nestedExpression(nested: SelectRequest['nested'][number], parentAlias: string): string {
    const { relation, request } = nested;
    const alias = this.alias();
    const link = `${alias}.${ident(relation.targetColumn)} = ${parentAlias}.${ident(relation.column)}`;
    const { items, from, page } = this.core(request, alias, link);
    const object = `json_build_object(${items.map(([key, expression]) => `'${key}', ${expression}`).join(', ')})`;
    if (relation.kind === 'one') return `(SELECT ${object} ${from} LIMIT 1)`;
    return `(SELECT coalesce(json_agg(${alias}_j.o), '[]'::json) FROM (SELECT ${object} AS o ${from}${page()}) ${alias}_j)`;
  }
}

function withheldCondition(withheld: readonly string[], operator: 'in' | 'notIn'): Condition[] {
  return withheld.length > 0 ? [{ kind: 'subject-jurisdiction', operator, value: withheld }] : [];
}

/**
 * The most withheld rows a read counts. The count is for the officers' record, and an exact one costs a scan of
 * every withheld row the filter reaches on every request (5.7 ms of PostgreSQL's time for support-bot's plain
 * page at demo scale 10, 110 times the page itself); past this many the record says "at least".
 */
export const WITHHELD_COUNT_CAP = 100;

/** How many of the root table's rows the withheld jurisdictions keep back from this read (page limits aside), up to the cap. */
function withheldCountStatement(request: SelectRequest, alias: string, lookup: TableLookup, params: Params): string {
  const subject = subjectJoin(request.table, alias, lookup);
  const scope = { alias, jurisdiction: subject.jurisdiction };
  const conditions = [...request.conditions, ...withheldCondition(request.withheld ?? [], 'in')].map((c) => compileCondition(scope, c, params));
  return `SELECT count(*)::int8 AS n FROM (SELECT FROM ${ident(request.table.name)} ${alias}${subject.join} WHERE ${conditions.join(' AND ')} LIMIT ${WITHHELD_COUNT_CAP}) AS ${alias}_withheld`;
}

/** How many rows of the root table the withheld jurisdictions kept back from this read (page limits aside), up to the cap. */
export function compileWithheldCount(request: SelectRequest, lookup: TableLookup): CompiledSelect {
  const params = new Params();
  return { text: withheldCountStatement(request, 't0', lookup, params), params: params.values };
}

/**
 * Compiles one read — the root table and every nested relation — into ONE parameterised statement:
 * nested lists as correlated JSON aggregates, never one query per parent row.
 */
export function compileSelect(request: SelectRequest, lookup: TableLookup, options: { countWithheld?: boolean } = {}): CompiledSelect {
  const compiler = new SelectCompiler(lookup);
  const { items, from, page } = compiler.core(request, compiler.alias(), null);
  // Uncorrelated, so PostgreSQL counts once per statement (an InitPlan) and the read needs no second round trip;
  // an empty page carries no count, so callers count apart then (compileWithheldCount).
  if (options.countWithheld && (request.withheld ?? []).length > 0) {
    items.push([WITHHELD_KEY, `(${withheldCountStatement(request, compiler.alias(), lookup, compiler.params)})`]);
  }
  const projection = items.map(([key, expression]) => `${expression} AS ${JSON.stringify(key)}`).join(', ');
  return { text: `SELECT ${projection} ${from}${page()}`, params: compiler.params.values };
}
