import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type ConfigIssue, YamlSource } from '../config/index.ts';
import { type RuleSet, ruleSetSchema } from './rule-schema.ts';

/** Every loaded rule set, and which one governs each data-subject jurisdiction. */
export interface JurisdictionRules {
  sets: readonly RuleSet[];
  byJurisdiction: ReadonlyMap<string, RuleSet>;
}

/** Builds the lookup from already-validated rule sets; a jurisdiction covered twice is a caller's error. */
export function indexRuleSets(sets: readonly RuleSet[]): JurisdictionRules {
  const byJurisdiction = new Map<string, RuleSet>();
  for (const set of sets) for (const code of set.jurisdictions) byJurisdiction.set(code, set);
  return { sets, byJurisdiction };
}

function asIssues(error: unknown, file: string): ConfigIssue[] {
  if (error instanceof ConfigError) return [...error.issues];
  return [{ file, line: 1, field: '', message: `cannot read file: ${(error as Error).message}` }];
}

/** Checks within one file that zod cannot express: references between its own sections. */
function crossCheck(source: YamlSource, set: RuleSet): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  set.transferVolumes.forEach((threshold, i) => {
    threshold.requires.forEach((basis, j) => {
      if (!set.transfers.bases[basis]) {
        issues.push(source.issue(['transferVolumes', i, 'requires', j], `"${basis}" is not declared under transfers.bases`));
      }
    });
  });
  set.governmentIdentifiers.forEach((identifier, i) => {
    identifier.jurisdictions?.forEach((code, j) => {
      if (!set.jurisdictions.includes(code)) {
        issues.push(source.issue(['governmentIdentifiers', i, 'jurisdictions', j], `"${code}" is not one of this rule set's jurisdictions`));
      }
    });
    if (!identifier.unmasked && !identifier.masked && !identifier.lookup) {
      issues.push(source.issue(['governmentIdentifiers', i], 'give at least one of unmasked, masked, lookup'));
    }
  });
  return issues;
}

/**
 * Loads every `*.yaml` rule set in `dir`. Throws one ConfigError listing every problem in every file (syntax,
 * schema, cross-references, a jurisdiction claimed by two files), each with file, line and field.
 */
export async function loadJurisdictionRules(dir: string): Promise<JurisdictionRules> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((entry) => entry.endsWith('.yaml') || entry.endsWith('.yml')).sort();
  } catch (error) {
    throw new ConfigError(asIssues(error, dir));
  }
  if (names.length === 0) throw new ConfigError([{ file: dir, line: 1, field: '', message: 'no jurisdiction rule sets (*.yaml) found' }]);

  const issues: ConfigIssue[] = [];
  const sets: RuleSet[] = [];
  const claimedBy = new Map<string, string>();
  const ids = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let source: YamlSource;
    let set: RuleSet;
    try {
      source = await YamlSource.read(file);
      set = { ...source.parse(ruleSetSchema), file };
    } catch (error) {
      issues.push(...asIssues(error, file));
      continue;
    }
    issues.push(...crossCheck(source, set));
    const sameId = ids.get(set.id);
    if (sameId) issues.push(source.issue(['id'], `id "${set.id}" is already used by ${sameId}`));
    ids.set(set.id, file);
    set.jurisdictions.forEach((code, i) => {
      const other = claimedBy.get(code);
      if (other) issues.push(source.issue(['jurisdictions', i], `${code} is already governed by ${other}`));
      else claimedBy.set(code, file);
    });
    sets.push(set);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return indexRuleSets(sets);
}
