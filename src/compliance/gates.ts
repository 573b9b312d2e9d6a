import type { Outcome, PurposeGate } from './rule-schema.ts';

export interface GateVerdict {
  outcome: Outcome;
  rule: string;
  /** True when the purpose is one the gate lists, i.e. a legal condition is positively relied on. */
  condition: boolean;
}

/** A purpose gate's verdict for one purpose: the cited condition when listed, else its default. */
export function passGate(gate: PurposeGate, purpose: string): GateVerdict {
  const condition = gate.purposes[purpose];
  return condition ? { outcome: 'allow', rule: condition, condition: true } : { outcome: gate.otherwise, rule: gate.rule, condition: false };
}

/** Whether a verdict is worth a finding: a refusal, a flag, or a condition relied on (kept for the record). */
export function isNoteworthy(verdict: GateVerdict): boolean {
  return verdict.outcome !== 'allow' || verdict.condition;
}
