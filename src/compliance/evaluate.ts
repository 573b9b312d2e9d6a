import { checkGovernmentIdentifiers } from './identifiers.ts';
import { checkPurposeLimitation } from './purpose.ts';
import { type CheckResult, type ComplianceRequest, carriesPersonalData, type Finding, resultOf } from './request.ts';
import type { JurisdictionRules } from './rules.ts';
import { checkSpecialCategories } from './special-categories.ts';
import { checkCrossBorderTransfer } from './transfer.ts';
import { checkTransferVolumes } from './volume.ts';

export const CHECKS = [checkCrossBorderTransfer, checkTransferVolumes, checkSpecialCategories, checkGovernmentIdentifiers, checkPurposeLimitation] as const;

/** Subject jurisdictions no rule set governs: nothing can be checked for them, so an officer must look. */
function uncovered(request: ComplianceRequest, rules: JurisdictionRules): Finding[] {
  if (!carriesPersonalData(request.fields.flatMap((field) => field.classes))) return [];
  return [...new Set(request.subjectJurisdictions)]
    .filter((code) => !rules.byJurisdiction.has(code))
    .sort()
    .map((code) => ({
      check: 'rule_coverage',
      jurisdiction: code,
      outcome: 'flag',
      rule: 'none',
      message: `no jurisdiction rule set governs ${code} subjects`,
    }));
}

/** Every check for one request; the outcome is the most severe of all findings. */
export function runComplianceChecks(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  return resultOf([...uncovered(request, rules), ...CHECKS.flatMap((check) => check(request, rules).findings)]);
}
