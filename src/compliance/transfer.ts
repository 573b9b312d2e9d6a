import type { TagClass } from '../config/index.ts';
import { type CheckResult, type ComplianceAgent, type ComplianceRequest, type Finding, carriesPersonalData, hasAnyTag, resultOf } from './request.ts';
import type { RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';
import { fieldNames, governedJurisdictions } from './scope.ts';

/** What a rule set says about its subjects' personal data reaching an agent at its location. */
export type TransferDecision =
  | { kind: 'domestic' }
  | { kind: 'restricted'; rule: string }
  | { kind: 'basis'; basis: string; outcome: 'allow' | 'flag'; rule: string; note: string | undefined }
  | { kind: 'no_basis'; outcome: 'allow' | 'flag' | 'deny' | 'withhold'; rule: string; unrecognised: string[] };

/** Moving data between two places of one free-flow area (EU-DE → EU-FR) is not a transfer. */
export function isTransfer(set: RuleSet, subjectJurisdiction: string, destination: string): boolean {
  if (destination === subjectJurisdiction) return false;
  return !(set.freeFlowArea ?? set.jurisdictions).includes(destination);
}

/** The bases that hold for this agent and destination: listed by the operator or automatic in law, in file order. */
export function basesInForce(set: RuleSet, subjectJurisdiction: string, agent: ComplianceAgent): string[] {
  const listed = agent.transferBases[subjectJurisdiction] ?? [];
  return Object.entries(set.transfers.bases)
    .filter(([name, basis]) => basis.automatic || listed.includes(name))
    .filter(([, basis]) => !basis.destinations || basis.destinations.includes(agent.location))
    .map(([name]) => name);
}

export function transferDecision(set: RuleSet, subjectJurisdiction: string, agent: ComplianceAgent): TransferDecision {
  if (!isTransfer(set, subjectJurisdiction, agent.location)) return { kind: 'domestic' };
  const restricted = set.transfers.restrictedDestinations;
  if (restricted?.destinations.includes(agent.location)) return { kind: 'restricted', rule: restricted.rule };
  const inForce = basesInForce(set, subjectJurisdiction, agent);
  // Prefer a basis that needs no follow-up (allow) over one that must be reviewed (flag).
  const chosen = inForce.find((name) => set.transfers.bases[name]!.outcome === 'allow') ?? inForce[0];
  if (chosen) {
    const basis = set.transfers.bases[chosen]!;
    return { kind: 'basis', basis: chosen, outcome: basis.outcome, rule: basis.rule, note: basis.note };
  }
  const unrecognised = (agent.transferBases[subjectJurisdiction] ?? []).filter((name) => !inForce.includes(name));
  return { kind: 'no_basis', ...set.transfers.withoutBasis, unrecognised };
}

/**
 * The subject jurisdictions whose rows must not reach this agent at all (no basis where the rule set says
 * withhold, or a prohibited destination), for requests returning data of these classes. The caller filters
 * those rows out in SQL and reports how many were withheld.
 */
export function withheldJurisdictions(agent: ComplianceAgent, rules: JurisdictionRules, dataClasses: Iterable<TagClass>): string[] {
  if (!carriesPersonalData(dataClasses)) return [];
  const withheld: string[] = [];
  for (const [code, set] of rules.byJurisdiction) {
    const decision = transferDecision(set, code, agent);
    if (decision.kind === 'restricted' || (decision.kind === 'no_basis' && decision.outcome === 'withhold')) withheld.push(code);
  }
  return withheld.sort();
}

function describeDecision(set: RuleSet, code: string, agent: ComplianceAgent, decision: Exclude<TransferDecision, { kind: 'domestic' }>): Finding {
  const flow = `personal data of ${code} subjects goes to ${agent.location} (agent ${agent.id})`;
  const base = { check: 'cross_border_transfer' as const, jurisdiction: code, rule: decision.rule };
  switch (decision.kind) {
    case 'restricted':
      return { ...base, outcome: 'deny', message: `${set.short}: ${flow}, a destination to which transfers are prohibited` };
    case 'basis':
      return { ...base, outcome: decision.outcome, message: `${set.short}: ${flow} under ${decision.basis}${decision.note ? ` — ${decision.note}` : ''}` };
    case 'no_basis': {
      const ignored = decision.unrecognised.length > 0 ? ` (listed but not a ${set.short} basis here: ${decision.unrecognised.join(', ')})` : '';
      if (decision.outcome === 'withhold') {
        return { ...base, outcome: 'deny', message: `${set.short}: ${flow} without a transfer basis${ignored}; these rows must be withheld` };
      }
      const verdict = decision.outcome === 'allow' ? 'no transfer basis is required' : 'without a transfer basis';
      return { ...base, outcome: decision.outcome, message: `${set.short}: ${flow}; ${verdict}${ignored}` };
    }
  }
}

/** Cross-border transfer: each subject jurisdiction's rules against the agent's location and bases. */
export function checkCrossBorderTransfer(request: ComplianceRequest, rules: JurisdictionRules): CheckResult {
  const findings: Finding[] = [];
  if (!carriesPersonalData(request.fields.flatMap((field) => field.classes))) return resultOf(findings);
  for (const [code, set] of governedJurisdictions(request, rules)) {
    const decision = transferDecision(set, code, request.agent);
    if (decision.kind === 'domestic') continue;
    findings.push(describeDecision(set, code, request.agent, decision));
    for (const condition of set.transfers.categoryConditions) {
      const matching = request.fields.filter((field) => hasAnyTag(field, condition.tags));
      if (matching.length === 0) continue;
      findings.push({
        check: 'cross_border_transfer',
        jurisdiction: code,
        outcome: condition.outcome,
        rule: condition.rule,
        message: `${set.short}: ${fieldNames(matching)} — ${condition.message}`,
      });
    }
  }
  return resultOf(findings);
}
