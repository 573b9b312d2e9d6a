import { type CheckResult, type ComplianceRequest, type Finding, hasAnyTag, isClearFor, type RequestField, resultOf } from './request.ts';
import { type GateVerdict, isNoteworthy, passGate } from './gates.ts';
import type { JurisdictionRules } from './rules.ts';
import { governedJurisdictions } from './scope.ts';

type Use = 'unmasked' | 'masked' | 'lookup';

const USE_WORDS: Readonly<Record<Use, string>> = {
  unmasked: 'returned unmasked',
  masked: 'returned masked',
  lookup: 'used to look subjects up (adopted as an identifier)',
};

/**
 * Government identifiers (Singapore NRIC, Australian TFN under APP 9, …): returning one in clear, masked, or
 * selecting rows by it are three different uses, each gated by purpose in the subject's rule set.
 */
export function checkGovernmentIdentifiers(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  const findings: Finding[] = [];
  for (const [code, set] of governedJurisdictions(request, rules)) {
    for (const identifier of set.governmentIdentifiers) {
      if (identifier.jurisdictions && !identifier.jurisdictions.includes(code)) continue;
      const uses: Array<[Use, RequestField]> = [
        ...request.fields.map((field): [Use, RequestField] => [isClearFor(field.mask, code) ? 'unmasked' : 'masked', field]),
        ...(request.lookupFields ?? []).map((field): [Use, RequestField] => ['lookup', field]),
      ];
      for (const [use, field] of uses) {
        const gate = identifier[use];
        if (!gate || !hasAnyTag(field, identifier.tags)) continue;
        const verdict: GateVerdict = passGate(gate, request.purpose);
        if (!isNoteworthy(verdict)) continue;
        findings.push({
          check: 'government_identifier',
          jurisdiction: code,
          outcome: verdict.outcome,
          rule: verdict.rule,
          message: `${set.short}: ${identifier.name} (${field.table}.${field.field}) of ${code} subjects ${USE_WORDS[use]} for purpose "${request.purpose}"`,
        });
      }
    }
  }
  return resultOf(findings);
}
