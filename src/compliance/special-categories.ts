import { type CheckResult, type ComplianceRequest, type Finding, hasAnyTag, resultOf } from './request.ts';
import { isNoteworthy, passGate } from './gates.ts';
import type { RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';
import { fieldNames, governedJurisdictions } from './scope.ts';

/** The returned fields a rule set counts as sensitive (special-category) personal data. */
export function sensitiveFields<F extends { tags: readonly string[] }>(set: RuleSet, fields: readonly F[]): F[] {
  return fields.filter((field) => set.sensitiveCategories.some((category) => hasAnyTag(field, category.tags)));
}

/** Special categories: sensitive data may be used only for the purposes a legal condition covers. */
export function checkSpecialCategories(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  const findings: Finding[] = [];
  for (const [code, set] of governedJurisdictions(request, rules)) {
    for (const category of set.sensitiveCategories) {
      const matching = request.fields.filter((field) => hasAnyTag(field, category.tags));
      if (matching.length === 0) continue;
      const verdict = passGate(category, request.purpose);
      if (!isNoteworthy(verdict)) continue;
      const requirement = verdict.condition || !category.requires ? '' : `; requires ${category.requires}`;
      findings.push({
        check: 'special_category',
        jurisdiction: code,
        outcome: verdict.outcome,
        rule: verdict.rule,
        message: `${set.short}: ${category.category} data (${fieldNames(matching)}) of ${code} subjects for purpose "${request.purpose}"${requirement}`,
      });
    }
  }
  return resultOf(findings);
}
