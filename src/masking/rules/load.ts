/** Loads `masking-rules/*.yaml`: validates every rule against the catalog and agents, compiles its masks, finds conflicts. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentRegistry,
  type Catalog,
  type CatalogColumn,
  type ColumnType,
  ConfigError,
  type ConfigIssue,
  type ConfigPath,
  type ProjectConfig,
  YamlSource,
} from '../../config/index.ts';
import {
  compileMask,
  getMaskFunction,
  MaskingError,
  type MaskFn,
  type MaskingKeys,
  type MaskValueType,
  MaskParamsError,
  maskFunctions,
  parseMaskParams,
} from '../mask-functions.ts';
import { unknownChoice } from '../../config/choices.ts';
import { findConflicts } from './conflicts.ts';
import type { MaskingRule, SelectorKind } from './model.ts';
import { columnKey } from './resolve.ts';
import { HIDE, type RuleEntry, ruleFileSchema, SCOPE_DIMENSIONS, type ScopeDimension } from './rule-file.ts';

export const RULES_DIR = 'masking-rules';

export interface MaskingRuleSet {
  rules: readonly MaskingRule[];
  /** Changes whenever any rule file's content changes: views compiled for another version are rebuilt. */
  version: string;
  files: readonly string[];
  /** Legal but risky choices (`hash` on a guessable field); `rules check` prints them. */
  warnings: readonly ConfigIssue[];
}

/** How the catalog's column types read in the masking catalogue's terms. */
export const MASK_TYPE_OF: Record<ColumnType, MaskValueType> = {
  bigint: 'int',
  integer: 'int',
  numeric: 'numeric',
  text: 'text',
  date: 'date',
  timestamptz: 'timestamp',
  boolean: 'boolean',
};

/** Reads every `*.yaml` file directly under `<root>/masking-rules/` (fixtures live in tests/, not read here). */
export async function readRuleSources(root: string): Promise<{ sources: YamlSource[]; issues: ConfigIssue[] }> {
  const dir = join(root, RULES_DIR);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { sources: [], issues: [] };
    throw error;
  }
  const sources: YamlSource[] = [];
  const issues: ConfigIssue[] = [];
  for (const name of names) {
    const file = `${RULES_DIR}/${name}`;
    try {
      sources.push(new YamlSource(file, await readFile(join(dir, name), 'utf8')));
    } catch (error) {
      if (error instanceof ConfigError) issues.push(...error.issues);
      else issues.push({ file, line: 1, field: '', message: `cannot read file: ${(error as Error).message}` });
    }
  }
  return { sources, issues };
}

/** Loads and checks the rules under `root`; throws one ConfigError listing every problem in every file. */
export async function loadMaskingRules(root: string, config: ProjectConfig, keys: MaskingKeys): Promise<MaskingRuleSet> {
  const { sources, issues } = await readRuleSources(root);
  return buildMaskingRules(sources, config, keys, issues);
}

export function buildMaskingRules(
  sources: readonly YamlSource[],
  config: ProjectConfig,
  keys: MaskingKeys,
  earlier: readonly ConfigIssue[] = [],
): MaskingRuleSet {
  const issues = [...earlier];
  const warnings: ConfigIssue[] = [];
  const rules: MaskingRule[] = [];
  const known = knownJurisdictions(config.catalog, config.registry);
  for (const source of sources) {
    let entries: RuleEntry[];
    try {
      entries = source.parse(ruleFileSchema).rules;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    entries.forEach((entry, i) => {
      const rule = checkRule(entry, ['rules', i], source, config, known, keys, issues, warnings);
      if (rule) rules.push({ ...rule, order: rules.length });
    });
  }
  issues.push(...findConflicts(rules, config));
  if (issues.length > 0) throw new ConfigError(issues);
  // Refs are in the hash too: a moved rule changes what audit records name, so views must be rebuilt.
  const hash = createHash('sha256').update(JSON.stringify(rules.map((r) => r.ref)));
  for (const source of sources) hash.update(source.file).update('\0').update(JSON.stringify(source.value)).update('\0');
  return { rules, version: `rules-${hash.digest('hex').slice(0, 12)}`, files: sources.map((s) => s.file), warnings };
}

function knownJurisdictions(catalog: Catalog, registry: AgentRegistry): Set<string> {
  const codes = new Set<string>();
  for (const table of catalog.tables.values()) {
    for (const column of table.columns.values()) if (column.tags.includes('jurisdiction')) for (const code of column.domain ?? []) codes.add(code);
  }
  for (const agent of registry.agents.values()) for (const code of [agent.location, ...agent.serves]) codes.add(code);
  return codes;
}

function checkRule(
  entry: RuleEntry,
  at: ConfigPath,
  source: YamlSource,
  config: ProjectConfig,
  knownCodes: ReadonlySet<string>,
  keys: MaskingKeys,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Omit<MaskingRule, 'order'> | undefined {
  const before = issues.length;
  const columns = selectedColumns(entry, at, source, config.catalog, issues);
  const known: Record<ScopeDimension, { has(value: string): boolean; list: () => string[] }> = {
    roles: { has: (v) => config.registry.roles.has(v), list: () => [...config.registry.roles.keys()] },
    purposes: { has: (v) => config.registry.purposes.has(v), list: () => [...config.registry.purposes.keys()] },
    agentLocations: { has: (v) => knownCodes.has(v), list: () => [...knownCodes].sort() },
    subjectJurisdictions: { has: (v) => knownCodes.has(v), list: () => [...knownCodes].sort() },
  };
  const scope: Partial<Record<ScopeDimension, ReadonlySet<string>>> = {};
  for (const dimension of SCOPE_DIMENSIONS) {
    const values = entry[dimension];
    if (!values) continue;
    values.forEach((value, i) => {
      if (!known[dimension].has(value)) issues.push(source.issue([...at, dimension, i], unknownChoice(singular(dimension), value, known[dimension].list())));
    });
    scope[dimension] = new Set(values);
  }
  const params = checkMask(entry, at, source, columns, issues);
  if (issues.length > before || params === undefined) return undefined;
  const compiled = new Map<string, MaskFn>();
  if (entry.mask !== HIDE) {
    for (const [key, { column }] of columns) {
      try {
        compiled.set(key, compileMask(entry.mask, entry.params, { keys, scope: key }));
      } catch (error) {
        if (!(error instanceof MaskingError)) throw error;
        issues.push(source.issue([...at, 'params'], `${error.message} (for ${key})`));
        return undefined;
      }
      if (getMaskFunction(entry.mask).warnsLowEntropy && isGuessable(column)) {
        warnings.push(
          source.issue(
            [...at, 'mask'],
            `${entry.mask} on ${key} is reversible: anyone can hash a dictionary of likely ${column.name} values and compare; use pseudonymize (keyed) instead`,
          ),
        );
      }
    }
  }
  return {
    ref: `${source.file}:${source.lineOf(at)}`,
    description: entry.description,
    columns: new Map([...columns].map(([key, { kind }]) => [key, kind])),
    scope,
    mask: entry.mask,
    params,
    written: entry.params ?? {},
    compiled,
  };
}

function singular(dimension: ScopeDimension): string {
  return { roles: 'role', purposes: 'purpose', agentLocations: 'agent location', subjectJurisdictions: 'subject jurisdiction' }[dimension];
}

/** Few enough likely values to enumerate: categories, dates, numbers, and the personal identifiers people guess. */
function isGuessable(column: CatalogColumn): boolean {
  return column.domain !== undefined || column.quasiIdentifier || column.type !== 'text' || column.classes.has('personal') || column.classes.has('identifier');
}

function selectedColumns(
  entry: RuleEntry,
  at: ConfigPath,
  source: YamlSource,
  catalog: Catalog,
  issues: ConfigIssue[],
): Map<string, { kind: SelectorKind; column: CatalogColumn }> {
  const selected = new Map<string, { kind: SelectorKind; column: CatalogColumn }>();
  const add = (table: string, column: CatalogColumn, kind: SelectorKind) => {
    const key = columnKey(table, column.name);
    // A column named outright keeps its rank when the same rule also lists `table.*`.
    if (selected.get(key)?.kind !== 'column') selected.set(key, { kind, column });
  };
  entry.columns?.forEach((ref, i) => {
    const [tableName = '', columnName = ''] = ref.split('.');
    const table = catalog.tables.get(tableName);
    if (!table) {
      issues.push(source.issue([...at, 'columns', i], unknownChoice('table', tableName, catalog.tables.keys())));
      return;
    }
    if (columnName === '*') {
      for (const column of table.columns.values()) if (!column.encrypted) add(tableName, column, 'table');
      return;
    }
    const column = table.columns.get(columnName);
    const qualified = [...table.columns.keys()].map((c) => `${tableName}.${c}`);
    if (!column) issues.push(source.issue([...at, 'columns', i], unknownChoice('column', ref, qualified)));
    else if (column.encrypted)
      issues.push(source.issue([...at, 'columns', i], `"${ref}" is encrypted-only and never shown in plaintext: no masking rule applies`));
    else add(tableName, column, 'column');
  });
  entry.tags?.forEach((tag, i) => {
    if (!catalog.tags.has(tag)) {
      issues.push(source.issue([...at, 'tags', i], unknownChoice('tag', tag, catalog.tags.keys())));
      return;
    }
    for (const table of catalog.tables.values()) {
      for (const column of table.columns.values()) if (column.tags.includes(tag) && !column.encrypted) add(table.name, column, 'tag');
    }
  });
  return selected;
}

/** Checks the function and its params; returns the params with defaults, or undefined after recording an issue. */
function checkMask(
  entry: RuleEntry,
  at: ConfigPath,
  source: YamlSource,
  columns: ReadonlyMap<string, { column: CatalogColumn }>,
  issues: ConfigIssue[],
): Record<string, unknown> | undefined {
  if (entry.mask === HIDE) {
    if (entry.params && Object.keys(entry.params).length > 0) issues.push(source.issue([...at, 'params'], 'hide takes no params'));
    return {};
  }
  if (!maskFunctions.has(entry.mask)) {
    issues.push(source.issue([...at, 'mask'], unknownChoice('masking function', entry.mask, [...maskFunctions.keys(), HIDE])));
    return undefined;
  }
  let params: Record<string, unknown>;
  try {
    params = parseMaskParams(entry.mask, entry.params) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof MaskParamsError)) throw error;
    issues.push(source.issue([...at, 'params', ...(error.param === '' ? [] : error.param.split('.'))], error.message));
    return undefined;
  }
  const spec = getMaskFunction(entry.mask);
  for (const [key, { column }] of columns) {
    const type = MASK_TYPE_OF[column.type];
    if (!spec.appliesTo.includes(type)) {
      issues.push(
        source.issue([...at, 'mask'], `${entry.mask} does not apply to ${key} (a ${column.type} column); it masks ${spec.appliesTo.join(', ')} values`),
      );
      return undefined;
    }
  }
  return params;
}
