/** Which rule decides a field for a view, per data-subject jurisdiction, and which rules it beat. */
import { type CatalogColumn, type CatalogTable, isSensitive } from '../../config/index.ts';
import type { ExposureScope } from '../../policy/index.ts';
import { compareSpecificity, type MaskingRule, type Specificity, specificityOf } from './model.ts';

export interface Candidate {
  rule: MaskingRule;
  specificity: Specificity;
}

/** The rules that apply to one column for one subject jurisdiction, best first. */
export interface Ranking {
  /** The most specific rules; more than one only when they all agree (or a conflict the loader reports). */
  best: Candidate[];
  outranked: Candidate[];
}

export interface FieldResolution {
  table: CatalogTable;
  column: CatalogColumn;
  sensitive: boolean;
  /** Subject jurisdictions some rule names, each with its ranking. */
  byJurisdiction: ReadonlyMap<string, Ranking>;
  /** Every other subject jurisdiction (and rows with none). */
  otherwise: Ranking;
}

export const columnKey = (table: string, column: string) => `${table}.${column}`;

export function matchesViewScope(rule: MaskingRule, scope: ExposureScope): boolean {
  const { roles, purposes, agentLocations } = rule.scope;
  return (!roles || roles.has(scope.role)) && (!purposes || purposes.has(scope.purpose)) && (!agentLocations || agentLocations.has(scope.agentLocation));
}

/** Ranks candidates for rows of `subject` (undefined: a jurisdiction no rule names). */
export function rank(candidates: readonly Candidate[], subject: string | undefined): Ranking {
  const matching = candidates
    .filter(({ rule }) => !rule.scope.subjectJurisdictions || (subject !== undefined && rule.scope.subjectJurisdictions.has(subject)))
    .sort((a, b) => compareSpecificity(b.specificity, a.specificity) || a.rule.order - b.rule.order);
  const top = matching[0];
  if (!top) return { best: [], outranked: [] };
  const best = matching.filter((c) => compareSpecificity(c.specificity, top.specificity) === 0);
  return { best, outranked: matching.slice(best.length) };
}

export function candidatesFor(rules: readonly MaskingRule[], key: string, accept: (rule: MaskingRule) => boolean): Candidate[] {
  return rules.filter((rule) => rule.columns.has(key) && accept(rule)).map((rule) => ({ rule, specificity: specificityOf(rule, key) }));
}

export function resolveField(rules: readonly MaskingRule[], table: CatalogTable, column: CatalogColumn, scope: ExposureScope): FieldResolution {
  const candidates = candidatesFor(rules, columnKey(table.name, column.name), (rule) => matchesViewScope(rule, scope));
  const named = new Set(candidates.flatMap(({ rule }) => [...(rule.scope.subjectJurisdictions ?? [])]));
  return {
    table,
    column,
    sensitive: isSensitive(column),
    byJurisdiction: new Map([...named].sort().map((j) => [j, rank(candidates, j)])),
    otherwise: rank(candidates, undefined),
  };
}
