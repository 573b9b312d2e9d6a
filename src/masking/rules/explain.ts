/** `keyhole rules explain`: per field of an agent's view, hidden / clear / masked, by which rule and why it won. */
import { type AgentDefinition, isSensitive, policyKey, type ProjectConfig } from '../../config/index.ts';
import type { MaskingRuleSet } from './load.ts';
import { type Candidate, type Ranking, resolveField } from './resolve.ts';
import { describeMask, describeSpecificity } from './model.ts';
import { HIDE } from './rule-file.ts';

export interface JurisdictionDecision {
  /** Subject jurisdictions this decision covers; undefined = all others. */
  jurisdictions: string[] | undefined;
  shows: 'clear' | 'hidden' | 'masked';
  mask: string | undefined;
  rule: string | undefined;
  why: string;
}

export interface FieldExplanation {
  field: string;
  status: 'not-in-policy' | 'clear' | 'hidden' | 'masked';
  decisions: JurisdictionDecision[];
}

export interface TableExplanation {
  table: string;
  access: string;
  fields: FieldExplanation[];
}

export interface ViewExplanation {
  agent: AgentDefinition;
  purpose: string;
  version: string;
  tables: TableExplanation[];
}

function ruleLine(c: Candidate): string {
  return `${c.rule.ref} (${describeSpecificity(c.specificity)})`;
}

function decide(ranking: Ranking, sensitive: boolean, tags: readonly string[], jurisdictions: string[] | undefined): JurisdictionDecision {
  const [winner, ...ties] = ranking.best;
  if (!winner) {
    return sensitive
      ? { jurisdictions, shows: 'hidden', mask: undefined, rule: undefined, why: `no rule covers ${tags.join(', ')} (personal/special: fail closed)` }
      : { jurisdictions, shows: 'clear', mask: undefined, rule: undefined, why: 'not sensitive and no rule masks it' };
  }
  const beaten = ranking.outranked.map(ruleLine);
  const matching = ranking.best.length + ranking.outranked.length;
  const reasons = [`${matching === 1 ? 'the only matching rule' : 'the most specific matching rule'} (${describeSpecificity(winner.specificity)})`];
  if (ties.length > 0) reasons.push(`agrees with ${ties.map((t) => t.rule.ref).join(', ')} (equally specific; the first in file order is named)`);
  if (beaten.length > 0) reasons.push(`beats ${beaten.join('; ')}`);
  const shows = winner.rule.mask === 'clear' ? 'clear' : winner.rule.mask === HIDE ? 'hidden' : 'masked';
  return { jurisdictions, shows, mask: describeMask(winner.rule), rule: winner.rule.ref, why: reasons.join('; ') };
}

export function explainView(config: ProjectConfig, set: MaskingRuleSet, agent: AgentDefinition, purpose: string, onlyTable?: string): ViewExplanation {
  const policy = config.policies.byRolePurpose.get(policyKey(agent.role, purpose));
  const scope = { role: agent.role, purpose, agentLocation: agent.location };
  const tables: TableExplanation[] = [];
  for (const [tableName, tablePolicy] of policy?.tables ?? []) {
    if (onlyTable !== undefined && tableName !== onlyTable) continue;
    const table = config.catalog.tables.get(tableName)!;
    const fields: FieldExplanation[] = [];
    for (const column of table.columns.values()) {
      if (!tablePolicy.fields.includes(column.name)) {
        fields.push({ field: column.name, status: 'not-in-policy', decisions: [] });
        continue;
      }
      const resolution = resolveField(set.rules, table, column, scope);
      const sensitive = isSensitive(column);
      const otherwise = decide(resolution.otherwise, sensitive, column.tags, undefined);
      // Jurisdictions decided by the same rule as everyone else are folded into "all others".
      const byRule = new Map<string, string[]>();
      for (const [j, ranking] of resolution.byJurisdiction) {
        const ref = ranking.best[0]?.rule.ref ?? '';
        if (ref === (otherwise.rule ?? '')) continue;
        byRule.set(ref, [...(byRule.get(ref) ?? []), j]);
      }
      const decisions = [...[...byRule.values()].map((js) => decide(resolution.byJurisdiction.get(js[0]!)!, sensitive, column.tags, js)), otherwise];
      const kinds = new Set(decisions.map((d) => d.shows));
      const status = kinds.size === 1 ? decisions[0]!.shows : 'masked';
      fields.push({ field: column.name, status, decisions });
    }
    tables.push({ table: tableName, access: tablePolicy.access, fields });
  }
  return { agent, purpose, version: set.version, tables };
}

function decisionText(d: JurisdictionDecision): string {
  const what = d.shows === 'masked' ? `${d.mask} ` : '';
  return d.rule ? `${what}by ${d.rule}: ${d.why}` : d.why;
}

export function formatExplanation(e: ViewExplanation): string {
  const lines = [`${e.agent.id} acting for ${e.purpose} (role ${e.agent.role}, location ${e.agent.location}); masking rules ${e.version}`];
  if (e.tables.length === 0) lines.push('  no table: no policy covers this role and purpose (the view is empty)');
  for (const t of e.tables) {
    lines.push('', `${t.table} (${t.access} access)`);
    const width = Math.max(...t.fields.map((f) => f.field.length));
    for (const f of t.fields) {
      const head = `  ${f.field.padEnd(width)}  ${f.status === 'not-in-policy' ? 'hidden' : f.status}`.padEnd(width + 12);
      if (f.status === 'not-in-policy') lines.push(`${head}not listed in the ${e.agent.role}/${e.purpose} policy`);
      else if (f.decisions.length === 1) lines.push(`${head}${decisionText(f.decisions[0]!)}`);
      else {
        lines.push(`${head}per subject jurisdiction:`);
        for (const d of f.decisions)
          lines.push(`      ${d.jurisdictions ? d.jurisdictions.join(', ') : 'all others'}: ${d.shows === 'masked' ? '' : `${d.shows} `}${decisionText(d)}`);
      }
    }
  }
  return lines.join('\n');
}
