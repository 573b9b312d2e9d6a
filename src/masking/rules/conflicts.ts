/**
 * Two rules that are equally specific, can apply to the same field in the same scope, and would mask it
 * differently: a load error naming both, never a silent pick. Found by trying every combination of the
 * values each scope dimension can take (the registry's roles and purposes, the jurisdictions rules name,
 * plus "any other"), so a tie that a more specific rule always settles is not reported.
 */
import type { ConfigIssue, ProjectConfig } from '../../config/index.ts';
import { describeMask, describeSpecificity, type MaskingRule, sameMask } from './model.ts';
import { type Candidate, candidatesFor, rank } from './resolve.ts';

const OTHER = undefined;

export function findConflicts(rules: readonly MaskingRule[], config: ProjectConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const reported = new Set<string>();
  const roles = [...config.registry.roles.keys()];
  const purposes = [...config.registry.purposes.keys()];
  const locations = [...new Set(rules.flatMap((r) => [...(r.scope.agentLocations ?? [])])), OTHER];
  for (const table of config.catalog.tables.values()) {
    for (const column of table.columns.values()) {
      const key = `${table.name}.${column.name}`;
      const all = candidatesFor(rules, key, () => true);
      if (all.length < 2) continue;
      const subjects = [...new Set(all.flatMap((c) => [...(c.rule.scope.subjectJurisdictions ?? [])])), OTHER];
      for (const role of roles) {
        for (const purpose of purposes) {
          for (const location of locations) {
            const inScope = all.filter(
              ({ rule }) =>
                inDimension(rule.scope.roles, role) && inDimension(rule.scope.purposes, purpose) && inDimension(rule.scope.agentLocations, location),
            );
            if (inScope.length < 2) continue;
            for (const subject of subjects) {
              const { best } = rank(inScope, subject);
              const [first, ...rest] = best;
              const other = rest.find((c) => !sameMask(c.rule, first!.rule));
              if (!first || !other) continue;
              const pair = `${first.rule.ref}|${other.rule.ref}`;
              if (reported.has(pair)) continue;
              reported.add(pair);
              issues.push(conflictIssue(first, other, key, { role, purpose, location, subject }));
            }
          }
        }
      }
    }
  }
  return issues;
}

function inDimension(values: ReadonlySet<string> | undefined, value: string | undefined): boolean {
  return values === undefined || (value !== undefined && values.has(value));
}

function conflictIssue(
  a: Candidate,
  b: Candidate,
  key: string,
  at: { role: string; purpose: string; location: string | undefined; subject: string | undefined },
): ConfigIssue {
  const [file = '', line = '1'] = splitRef(a.rule.ref);
  const where = `role ${at.role}, purpose ${at.purpose}, agent location ${at.location ?? 'any'}, subject jurisdiction ${at.subject ?? 'any'}`;
  return {
    file,
    line: Number(line),
    field: 'rules',
    message:
      `conflicts with ${b.rule.ref}: both ${describeSpecificity(a.specificity)} and apply to ${key} for ${where}, ` +
      `but one says ${describeMask(a.rule)} and the other ${describeMask(b.rule)}; make one more specific or make them agree`,
  };
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}
