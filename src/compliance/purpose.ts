import { type CheckResult, type ComplianceRequest, type Finding, resultOf } from './request.ts';
import type { JurisdictionRules } from './rules.ts';
import { fieldNames, governedJurisdictions } from './scope.ts';

/**
 * Purpose limitation and minimisation: the purpose must be one notified to the subjects (else deny), and the
 * returned fields must be of the data classes that purpose was notified for (else flag: more than needed).
 */
export function checkPurposeLimitation(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  const findings: Finding[] = [];
  for (const [code, set] of governedJurisdictions(request, rules)) {
    const limitation = set.purposeLimitation;
    const allowedClasses = limitation.purposes[request.purpose];
    if (!allowedClasses) {
      findings.push({
        check: 'purpose_limitation',
        jurisdiction: code,
        outcome: 'deny',
        rule: limitation.rule,
        message: `${set.short}: purpose "${request.purpose}" was not notified to ${code} subjects`,
      });
      continue;
    }
    const excess = request.fields.filter((field) => field.classes.some((c) => c !== 'public' && !allowedClasses.includes(c)));
    if (excess.length > 0) {
      findings.push({
        check: 'purpose_limitation',
        jurisdiction: code,
        outcome: 'flag',
        rule: limitation.minimisationRule,
        message: `${set.short}: ${fieldNames(excess)} go beyond the data notified for "${request.purpose}" (${allowedClasses.join(', ')})`,
      });
    }
  }
  return resultOf(findings);
}
