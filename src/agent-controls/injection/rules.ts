import type { Rule } from './rule.ts';
import { CJK_RULES } from './rules-cjk.ts';
import { ENGLISH_RULES } from './rules-english.ts';
import { EUROPEAN_RULES } from './rules-european.ts';
import { STRUCTURE_RULES } from './rules-structure.ts';

export type { Category, Rule } from './rule.ts';

/** Rules run one by one only when one expression made of all of them finds a match. */
interface RuleGroup {
  anyRule: RegExp;
  rules: readonly Rule[];
}

interface RuleSet {
  /** Text the set can apply to at all (its script). */
  appliesTo: RegExp | undefined;
  groups: readonly RuleGroup[];
}

/**
 * Most values match no rule, and one pass of an expression made of several rules costs a fraction of one pass
 * per rule. Groups stay small: past a size V8 no longer compiles an expression to machine code, and a long text
 * then costs many times more.
 */
const GROUP_SIZE = 16;

/** Rules run whatever the language of the text (a note may mix several), except where they cannot apply. */
function ruleSet(rules: readonly Rule[], appliesTo?: RegExp): RuleSet {
  const groups: RuleGroup[] = [];
  for (let i = 0; i < rules.length; i += GROUP_SIZE) {
    const group = rules.slice(i, i + GROUP_SIZE);
    groups.push({ rules: group, anyRule: new RegExp(group.map((r) => `(?:${r.pattern.source})`).join('|'), 'u') });
  }
  return { appliesTo, groups };
}

const RULE_SETS: readonly RuleSet[] = [
  ruleSet(ENGLISH_RULES),
  ruleSet(EUROPEAN_RULES),
  ruleSet(CJK_RULES, /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u),
  ruleSet(STRUCTURE_RULES),
];

/** One rule's match: its category, weight, and the span of the scanned text it covers. */
export interface RuleMatch {
  category: Rule['category'];
  weight: number;
  start: number;
  end: number;
}

export function matchRules(text: string): RuleMatch[] {
  const matches: RuleMatch[] = [];
  for (const { appliesTo, groups } of RULE_SETS) {
    if (appliesTo && !appliesTo.test(text)) continue;
    for (const { anyRule, rules } of groups) if (anyRule.test(text)) matchEach(rules, text, matches);
  }
  return matches;
}

function matchEach(rules: readonly Rule[], text: string, matches: RuleMatch[]): void {
  for (const { category, weight, pattern } of rules) {
    // exec on the rule's own (global) pattern: matchAll would copy the pattern on every call.
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      // An empty match (a bare lookahead) covers nothing to remove, and must not stop the search.
      if (match[0].length === 0) pattern.lastIndex++;
      else matches.push({ category, weight, start: match.index, end: match.index + match[0].length });
    }
  }
}
