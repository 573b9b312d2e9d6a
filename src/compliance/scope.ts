import type { ComplianceRequest } from './request.ts';
import type { RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';

/**
 * The subject jurisdictions of a request with the rule set governing each, leaving out those whose law
 * treats differentially private aggregates as anonymous data when that is all the request returns.
 */
export function governedJurisdictions(request: ComplianceRequest, rules: JurisdictionRules): Array<[string, RuleSet]> {
  const governed: Array<[string, RuleSet]> = [];
  for (const code of [...new Set(request.subjectJurisdictions)].sort()) {
    const set = rules.byJurisdiction.get(code);
    if (set && !(request.access === 'aggregate' && set.aggregates.anonymous)) governed.push([code, set]);
  }
  return governed;
}

export function fieldNames(fields: ReadonlyArray<{ table: string; field: string }>): string {
  return fields.map((field) => `${field.table}.${field.field}`).join(', ');
}
