import { carriesPersonalData, type CheckResult, type ComplianceRequest, type Finding, resultOf } from './request.ts';
import type { RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';
import { governedJurisdictions } from './scope.ts';
import { sensitiveFields } from './special-categories.ts';
import { basesInForce, isTransfer } from './transfer.ts';

type VolumeClass = 'personal' | 'sensitive';

/** The highest threshold a yearly count reaches for one data class, if any. */
export function thresholdReached(set: RuleSet, dataClass: VolumeClass, count: number): RuleSet['transferVolumes'][number] | undefined {
  return set.transferVolumes.filter((threshold) => threshold.dataClass === dataClass && count >= threshold.atLeast).sort((a, b) => b.atLeast - a.atLeast)[0];
}

/**
 * Volume thresholds (PIPL and the CAC's 2024 Provisions): above a yearly number of subjects per destination a
 * transfer needs a stronger mechanism. Counts come from the caller (distinct subjects this calendar year,
 * including this request); a rule set with thresholds and no count supplied is flagged, never assumed small.
 */
export function checkTransferVolumes(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  const findings: Finding[] = [];
  const { agent } = request;
  for (const [code, set] of governedJurisdictions(request, rules)) {
    if (set.transferVolumes.length === 0 || !isTransfer(set, code, agent.location)) continue;
    const sensitive = sensitiveFields(set, request.fields);
    const classes: VolumeClass[] = [];
    if (carriesPersonalData(request.fields.filter((field) => !sensitive.includes(field)).flatMap((field) => field.classes))) classes.push('personal');
    if (sensitive.length > 0) classes.push('sensitive');
    if (classes.length === 0) continue;
    const volume = request.transferVolumes?.[code];
    const base = { check: 'transfer_volume' as const, jurisdiction: code };
    if (!volume) {
      findings.push({
        ...base,
        outcome: 'flag',
        rule: set.transfers.rule,
        message: `${set.short}: no yearly transfer volume supplied for ${code} → ${agent.location}; thresholds not checked`,
      });
      continue;
    }
    const inForce = basesInForce(set, code, agent);
    for (const dataClass of classes) {
      const count = volume[dataClass];
      const threshold = thresholdReached(set, dataClass, count);
      if (!threshold) continue;
      const held = threshold.requires.filter((basis) => inForce.includes(basis));
      const what = `${count.toLocaleString('en')} ${code} subjects' ${dataClass === 'sensitive' ? 'sensitive ' : ''}personal information to ${agent.location} this year (≥ ${threshold.atLeast.toLocaleString('en')})`;
      findings.push(
        held.length > 0
          ? { ...base, outcome: 'allow', rule: threshold.rule, message: `${set.short}: ${what} under ${held.join(', ')}` }
          : { ...base, outcome: 'deny', rule: threshold.rule, message: `${set.short}: ${what} requires one of ${threshold.requires.join(', ')}` },
      );
    }
  }
  return resultOf(findings);
}
