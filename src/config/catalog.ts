import { z } from 'zod';
import { unknownChoice } from './choices.ts';
import { ConfigError, type ConfigIssue, type YamlSource } from './yaml-source.ts';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier (a-z, 0-9, _)');

export const TAG_CLASSES = ['identifier', 'personal', 'special', 'financial', 'untrusted', 'public'] as const;
export type TagClass = (typeof TAG_CLASSES)[number];

export const COLUMN_TYPES = ['bigint', 'integer', 'numeric', 'text', 'date', 'timestamptz', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const columnSchema = z.strictObject({
  type: z.enum(COLUMN_TYPES),
  tags: z.array(z.string()).min(1, 'every column needs at least one classification tag'),
  description: z.string().optional(),
  references: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'expected "table.column"')
    .optional(),
  domain: z.array(z.string()).min(1).optional(),
  bounds: z.tuple([z.number(), z.number()]).optional(),
  precision: z.number().int().min(0).max(6).optional(),
  quasiIdentifier: z.boolean().optional(),
  encrypted: z.strictObject({ scheme: z.enum(['bfv', 'ckks']), plaintext: z.enum(['present', 'absent']) }).optional(),
});

const tableSchema = z.strictObject({
  description: z.string(),
  primaryKey: identifier,
  graphqlType: z
    .string()
    .regex(/^[A-Z][A-Za-z0-9]*$/)
    .optional(),
  subject: z.union([z.strictObject({ kind: identifier }), z.strictObject({ via: identifier })]),
  jurisdictionColumn: identifier.optional(),
  columns: z.record(identifier, columnSchema),
});

export const catalogFileSchema = z.strictObject({
  dataset: z.string().min(1),
  dataVersion: z.number().int().min(1),
  kAnonymityThreshold: z.number().int().min(2).optional(),
  tags: z.record(z.string(), z.strictObject({ class: z.enum(TAG_CLASSES), description: z.string() })),
  subjects: z.record(identifier, z.strictObject({ table: identifier, description: z.string() })),
  tables: z.record(identifier, tableSchema),
});

export interface CatalogColumn {
  name: string;
  type: ColumnType;
  tags: readonly string[];
  classes: ReadonlySet<TagClass>;
  description: string | undefined;
  references: { table: string; column: string } | undefined;
  domain: readonly string[] | undefined;
  bounds: readonly [number, number] | undefined;
  precision: number | undefined;
  quasiIdentifier: boolean;
  encrypted: { scheme: 'bfv' | 'ckks'; plaintext: 'present' | 'absent' } | undefined;
}

/** One foreign-key step from a table towards the table whose rows are data subjects. */
export interface SubjectHop {
  column: string;
  table: string;
  targetColumn: string;
}

/** A relation GraphQL can follow: `one` from a child to its parent, `many` from a parent to its children. */
export interface CatalogRelation {
  field: string;
  kind: 'one' | 'many';
  column: string;
  target: string;
  targetColumn: string;
}

export interface CatalogTable {
  name: string;
  description: string;
  primaryKey: string;
  graphqlType: string;
  columns: ReadonlyMap<string, CatalogColumn>;
  /** The subject kind whose privacy unit identifies who each row is about. */
  subjectKind: string;
  /** Foreign-key steps to the subject table (empty when the rows are the subjects themselves). */
  subjectPath: readonly SubjectHop[];
  /** The subject table's column holding each subject's jurisdiction. */
  jurisdiction: { table: string; column: string } | undefined;
  relations: readonly CatalogRelation[];
}

export interface Catalog {
  dataset: string;
  dataVersion: number;
  /** `keyhole rules explain --k-anonymity` warns when a view's smallest quasi-identifier group is smaller. */
  kAnonymityThreshold: number | undefined;
  tags: ReadonlyMap<string, { class: TagClass; description: string }>;
  subjects: ReadonlyMap<string, { table: string; description: string }>;
  tables: ReadonlyMap<string, CatalogTable>;
}

type CatalogFile = z.output<typeof catalogFileSchema>;

function defaultTypeName(table: string): string {
  const singular = table.endsWith('ies') ? `${table.slice(0, -3)}y` : table.replace(/s$/, '');
  return singular
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** Builds the checked, cross-referenced catalog from a parsed file. Every inconsistency is reported at once. */
export function buildCatalog(source: YamlSource): Catalog {
  const file: CatalogFile = source.parse(catalogFileSchema);
  const issues: ConfigIssue[] = [];
  const tags = new Map(Object.entries(file.tags));

  for (const [kind, subject] of Object.entries(file.subjects)) {
    const table = file.tables[subject.table];
    if (!table) issues.push(source.issue(['subjects', kind, 'table'], unknownChoice('table', subject.table, Object.keys(file.tables))));
    else if (!('kind' in table.subject) || table.subject.kind !== kind) {
      issues.push(source.issue(['subjects', kind, 'table'], `table "${subject.table}" must declare subject: { kind: ${kind} }`));
    }
  }

  const columnsOf = (tableName: string) => file.tables[tableName]?.columns;
  for (const [tableName, table] of Object.entries(file.tables)) {
    if (!table.columns[table.primaryKey]) {
      issues.push(source.issue(['tables', tableName, 'primaryKey'], `column "${table.primaryKey}" is not declared`));
    }
    if ('kind' in table.subject && !file.subjects[table.subject.kind]) {
      issues.push(source.issue(['tables', tableName, 'subject', 'kind'], unknownChoice('subject kind', table.subject.kind, Object.keys(file.subjects))));
    }
    if ('kind' in table.subject && !table.jurisdictionColumn) {
      issues.push(source.issue(['tables', tableName, 'subject'], 'a subject table must name its jurisdictionColumn'));
    }
    if (table.jurisdictionColumn && !table.columns[table.jurisdictionColumn]) {
      issues.push(source.issue(['tables', tableName, 'jurisdictionColumn'], `column "${table.jurisdictionColumn}" is not declared`));
    }
    if ('via' in table.subject) {
      const via = table.columns[table.subject.via];
      if (!via?.references) {
        issues.push(source.issue(['tables', tableName, 'subject', 'via'], `"${table.subject.via}" must be a declared column with references`));
      }
    }
    for (const [columnName, column] of Object.entries(table.columns)) {
      const at = ['tables', tableName, 'columns', columnName];
      column.tags.forEach((tag, i) => {
        if (!tags.has(tag)) issues.push(source.issue([...at, 'tags', i], `${unknownChoice('tag', tag, tags.keys())}; declare it under tags: first`));
      });
      if (column.references) {
        const [refTable = '', refColumn = ''] = column.references.split('.');
        if (!columnsOf(refTable)?.[refColumn]) {
          issues.push(source.issue([...at, 'references'], `"${column.references}" is not a declared column`));
        }
      }
      if (column.bounds && column.bounds[0] >= column.bounds[1]) {
        issues.push(source.issue([...at, 'bounds'], 'expected [lower, upper] with lower < upper'));
      }
      if ((column.bounds || column.precision !== undefined) && !['bigint', 'integer', 'numeric'].includes(column.type)) {
        issues.push(source.issue([...at, 'bounds'], 'bounds and precision apply to numeric columns only'));
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const tables = new Map<string, CatalogTable>();
  for (const [tableName, table] of Object.entries(file.tables)) {
    const path = subjectPathOf(file, tableName, source, issues);
    const root = path.length === 0 ? tableName : path[path.length - 1]!.table;
    const rootFile = file.tables[root]!;
    const kind = 'kind' in rootFile.subject ? rootFile.subject.kind : '';
    tables.set(tableName, {
      name: tableName,
      description: table.description,
      primaryKey: table.primaryKey,
      graphqlType: table.graphqlType ?? defaultTypeName(tableName),
      columns: new Map(
        Object.entries(table.columns).map(([name, column]) => [
          name,
          {
            name,
            type: column.type,
            tags: column.tags,
            classes: new Set(column.tags.map((tag) => tags.get(tag)!.class)),
            description: column.description,
            references: column.references ? { table: column.references.split('.')[0]!, column: column.references.split('.')[1]! } : undefined,
            domain: column.domain,
            bounds: column.bounds,
            precision: column.precision,
            quasiIdentifier: column.quasiIdentifier ?? false,
            encrypted: column.encrypted,
          },
        ]),
      ),
      subjectKind: kind,
      subjectPath: path,
      jurisdiction: rootFile.jurisdictionColumn ? { table: root, column: rootFile.jurisdictionColumn } : undefined,
      relations: relationsOf(file, tableName),
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    dataset: file.dataset,
    dataVersion: file.dataVersion,
    kAnonymityThreshold: file.kAnonymityThreshold,
    tags,
    subjects: new Map(Object.entries(file.subjects)),
    tables,
  };
}

function subjectPathOf(file: CatalogFile, tableName: string, source: YamlSource, issues: ConfigIssue[]): SubjectHop[] {
  const path: SubjectHop[] = [];
  const seen = new Set([tableName]);
  let current = file.tables[tableName]!;
  while ('via' in current.subject) {
    const [table = '', targetColumn = ''] = current.columns[current.subject.via]!.references!.split('.');
    if (seen.has(table)) {
      issues.push(source.issue(['tables', tableName, 'subject'], 'the subject path loops'));
      return path;
    }
    seen.add(table);
    path.push({ column: current.subject.via, table, targetColumn });
    current = file.tables[table]!;
  }
  return path;
}

function relationsOf(file: CatalogFile, tableName: string): CatalogRelation[] {
  const relations: CatalogRelation[] = [];
  for (const [columnName, column] of Object.entries(file.tables[tableName]!.columns)) {
    if (!column.references) continue;
    const [target = '', targetColumn = ''] = column.references.split('.');
    relations.push({ field: columnName.replace(/_id$/, ''), kind: 'one', column: columnName, target, targetColumn });
  }
  for (const [otherName, other] of Object.entries(file.tables)) {
    for (const [columnName, column] of Object.entries(other.columns)) {
      if (column.references?.startsWith(`${tableName}.`)) {
        relations.push({ field: otherName, kind: 'many', column: column.references.split('.')[1]!, target: otherName, targetColumn: columnName });
      }
    }
  }
  return relations;
}

/** Columns whose class means they may only be shown through a masking rule (fail closed). */
export function isSensitive(column: CatalogColumn): boolean {
  return column.classes.has('personal') || column.classes.has('special');
}
