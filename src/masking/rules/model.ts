/** A loaded masking rule, resolved against the catalog, and how rules compare. */
import type { MaskFn } from '../mask-functions.ts';
import type { ScopeDimension } from './rule-file.ts';

/** How a rule names a column; a named column beats a tag, a tag beats `table.*`. */
export type SelectorKind = 'column' | 'tag' | 'table';
const SELECTOR_RANK: Record<SelectorKind, number> = { column: 2, tag: 1, table: 0 };

export interface MaskingRule {
  /** `masking-rules/<file>:<line>`: how audit records, explanations and errors name the rule. */
  ref: string;
  /** Position over all files (file name order, then line): breaks ties between agreeing rules. */
  order: number;
  description: string | undefined;
  /** `table.column` -> how the rule selected it. */
  columns: ReadonlyMap<string, SelectorKind>;
  scope: Readonly<Partial<Record<ScopeDimension, ReadonlySet<string>>>>;
  /** A catalogue function name, or 'hide'. */
  mask: string;
  /** Parameters with defaults filled in (what the function was compiled with). */
  params: Readonly<Record<string, unknown>>;
  /** The parameters as the steward wrote them (for explanations). */
  written: Readonly<Record<string, unknown>>;
  /** The compiled function per selected column (keyed functions get the column as default key scope). */
  compiled: ReadonlyMap<string, MaskFn>;
}

export interface Specificity {
  selector: SelectorKind;
  dimensions: readonly ScopeDimension[];
}

export function specificityOf(rule: MaskingRule, columnKey: string): Specificity {
  const dimensions = (Object.keys(rule.scope) as ScopeDimension[]).filter((d) => rule.scope[d] !== undefined);
  return { selector: rule.columns.get(columnKey) ?? 'table', dimensions };
}

/** Positive when `a` is more specific: the selector first, then how many scope dimensions are given. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  return SELECTOR_RANK[a.selector] - SELECTOR_RANK[b.selector] || a.dimensions.length - b.dimensions.length;
}

export function describeSpecificity(s: Specificity): string {
  const selector = s.selector === 'column' ? 'names the column' : s.selector === 'tag' ? 'selects by tag' : 'selects table.*';
  const dims =
    s.dimensions.length === 0
      ? 'no scope dimension'
      : `${s.dimensions.length} scope dimension${s.dimensions.length > 1 ? 's' : ''} (${s.dimensions.join(', ')})`;
  return `${selector}, ${dims}`;
}

/** Two rules agree when they would show the same thing: same function, same parameters. */
export function sameMask(a: MaskingRule, b: MaskingRule): boolean {
  return a.mask === b.mask && stableJson(a.params) === stableJson(b.params);
}

export function describeMask(rule: Pick<MaskingRule, 'mask' | 'written'>): string {
  const params = stableJson(rule.written);
  return params === '{}' ? rule.mask : `${rule.mask} ${params}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${k}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
