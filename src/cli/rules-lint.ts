/**
 * The steward's linter (`keyhole rules check`): files that load without error but would not work as they read —
 * a personal field a view lists that no masking rule covers (hidden), a view whose answers the jurisdiction rule
 * sets would refuse. Pure over the loaded project; every finding names file:line, field, why and what to do.
 */
import { join, relative } from 'node:path';
import {
  type Finding,
  type JurisdictionRules,
  type RequestField,
  denialCode,
  describeFields,
  runComplianceChecks,
  withheldJurisdictions,
} from '../compliance/index.ts';
import { maskDescription } from '../graphql/read.ts';
import type { MaskingRuleSet } from '../masking/rules/load.ts';
import { explainView } from '../masking/rules/explain.ts';
import { buildView, type ExposureDecider, possibleSubjectJurisdictions, type ViewTable } from '../policy/index.ts';
import type { AgentDefinition } from '../config/agents.ts';
import { policyKey } from '../config/policies.ts';
import type { ProjectConfig } from '../config/project.ts';
import { type ConfigIssue, type ConfigPath, formatIssue, YamlSource } from '../config/yaml-source.ts';

/**
 * Errors: the project loads, but a view cannot work at all (every answer refused, no policy behind a purpose), so
 * shipping it breaks an agent. Warnings: the broker stays safe and answers, but not as the files read (a listed
 * field silently hidden, answers refused only when they include some fields).
 */
export type LintSeverity = 'error' | 'warning';

export interface LintFinding extends ConfigIssue {
  severity: LintSeverity;
  /** What the steward can change to resolve it (a file that does not load says so in its message). */
  fix?: string;
}

/** The files findings point into, read as the steward wrote them (relative names). */
export interface LintSources {
  agents: YamlSource;
  policies: YamlSource;
  /** Per rule set id, its file. */
  ruleSets: ReadonlyMap<string, YamlSource>;
}

export interface LintInput {
  config: ProjectConfig;
  masking: MaskingRuleSet;
  decide: ExposureDecider;
  jurisdictions: JurisdictionRules;
  sources: LintSources;
}

/** Reads the files findings point into, named relative to `root`. */
export async function readLintSources(root: string, sets: ReadonlyArray<{ id: string; file: string }>): Promise<LintSources> {
  const read = (file: string) => YamlSource.read(join(root, file), file);
  const [agents, policies, ...ruleSets] = await Promise.all([
    read('schema/agents.yaml'),
    read('schema/policies.yaml'),
    ...sets.map((set) => read(relative(root, set.file))),
  ]);
  return { agents: agents!, policies: policies!, ruleSets: new Map(sets.map((set, i) => [set.id, ruleSets[i]!])) };
}

export function formatFinding(finding: LintFinding): string {
  return `${finding.severity}: ${formatIssue(finding)}${finding.fix ? `\n    fix: ${finding.fix}` : ''}`;
}

/** Where in policies.yaml the policy for role/purpose stands (its index), if any. */
function policyIndex(source: YamlSource, role: string, purpose: string): number | undefined {
  const policies = (source.value as { policies?: Array<{ role?: unknown; purposes?: unknown }> }).policies ?? [];
  const index = policies.findIndex((p) => p.role === role && Array.isArray(p.purposes) && p.purposes.includes(purpose));
  return index < 0 ? undefined : index;
}

function finding(source: YamlSource, path: ConfigPath, severity: LintSeverity, message: string, fix: string): LintFinding {
  return { ...source.issue(path, message), severity, fix };
}

/** Each agent with each of its purposes, in a stable order. */
function viewsOf(config: ProjectConfig): Array<{ agent: AgentDefinition; purpose: string; purposeIndex: number }> {
  return [...config.registry.agents.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .flatMap((agent) => agent.purposes.map((purpose, purposeIndex) => ({ agent, purpose, purposeIndex })));
}

export function lintProject(input: LintInput): LintFinding[] {
  return [...emptyViews(input), ...hiddenFields(input), ...refusedAnswers(input)];
}

/** A purpose an agent may declare with no policy for its role: every request under it sees nothing. */
function emptyViews({ config, sources }: LintInput): LintFinding[] {
  return viewsOf(config)
    .filter(({ agent, purpose }) => !config.policies.byRolePurpose.has(policyKey(agent.role, purpose)))
    .map(({ agent, purpose, purposeIndex }) =>
      finding(
        sources.agents,
        ['agents', agent.id, 'purposes', purposeIndex],
        'error',
        `${agent.id} may act for "${purpose}", but no policy in schema/policies.yaml covers role ${agent.role} with that purpose: its view is empty`,
        `add a policy with role: ${agent.role} and purposes: [${purpose}] to schema/policies.yaml, or drop the purpose`,
      ),
    );
}

/** A personal or special field a row-access policy lists that no masking rule covers for the view: hidden (fail closed). */
function hiddenFields({ config, masking, sources }: LintInput): LintFinding[] {
  const byField = new Map<string, { path: ConfigPath; agents: string[]; message: (agents: string) => string; fix: string }>();
  for (const { agent, purpose } of viewsOf(config)) {
    const policy = config.policies.byRolePurpose.get(policyKey(agent.role, purpose));
    const p = policyIndex(sources.policies, agent.role, purpose);
    if (!policy || p === undefined) continue;
    for (const table of explainView(config, masking, agent, purpose).tables) {
      const tablePolicy = policy.tables.get(table.table)!;
      // Aggregate-only tables never show one row's value: DP protects them, masking rules do not apply.
      if (tablePolicy.access === 'aggregates') continue;
      for (const field of table.fields) {
        const failClosed = field.decisions.filter((d) => d.shows === 'hidden' && d.rule === undefined);
        if (failClosed.length === 0) continue;
        const column = config.catalog.tables.get(table.table)!.columns.get(field.field)!;
        const masked = field.decisions.filter((d) => !failClosed.includes(d)).flatMap((d) => d.jurisdictions ?? []);
        const forWhom = masked.length === 0 ? '' : ` for subjects of every jurisdiction but ${masked.join(', ')}`;
        const key = `${p}|${table.table}|${field.field}|${forWhom}`;
        const entry = byField.get(key) ?? {
          path: ['policies', p, 'tables', table.table, 'fields', tablePolicy.fields.indexOf(field.field)],
          agents: [],
          message: (agents: string) =>
            `${table.table}.${field.field} is listed for ${agent.role}/${purpose}, but no masking rule covers ${column.tags.join(', ')} for ${agents}: it is hidden${forWhom} (fail closed)`,
          fix: `add a rule to masking-rules/ with columns: [${table.table}.${field.field}] (or tags: [${column.tags[0]}]), roles: [${agent.role}] and the mask it should get (clear to show it), or drop the field from the policy`,
        };
        entry.agents.push(agent.id);
        byField.set(key, entry);
      }
    }
  }
  return [...byField.values()].map((e) => finding(sources.policies, e.path, 'warning', e.message(e.agents.join(', ')), e.fix));
}

const sameFinding = (a: Finding, b: Finding) => a.check === b.check && a.jurisdiction === b.jurisdiction && a.rule === b.rule;

/** What the query-time gate would deny for a request of these fields, on every jurisdiction the table can return. */
function denials(input: LintInput, agent: AgentDefinition, purpose: string, jurisdictions: string[], fields: RequestField[]): Finding[] {
  const result = runComplianceChecks({ agent, purpose, access: 'rows', fields, subjectJurisdictions: jurisdictions }, input.jurisdictions);
  // Yearly volumes count the people actually read: the gate leaves them out of its view-wide decision too.
  return result.findings.filter((f) => f.outcome === 'deny' && f.check !== 'transfer_volume');
}

/**
 * Row-access tables whose answers the jurisdiction rule sets refuse. The gate decides on every jurisdiction a table
 * can return, so a denial that holds whichever field is asked for refuses every answer (an error); one that only
 * some fields bring refuses the answers including them (a warning).
 */
function refusedAnswers(input: LintInput): LintFinding[] {
  const { config, masking, decide, jurisdictions, sources } = input;
  const known = [...jurisdictions.byJurisdiction.keys()];
  const findings: LintFinding[] = [];
  for (const { agent, purpose, purposeIndex } of viewsOf(config)) {
    const p = policyIndex(sources.policies, agent.role, purpose);
    if (p === undefined) continue;
    const view = buildView(config, agent, purpose, decide, masking.version, (a, classes) => withheldJurisdictions(a, jurisdictions, classes));
    for (const [name, viewTable] of view.tables) {
      if (viewTable.policy.access !== 'rows' || viewTable.fields.size === 0) continue;
      const possible = possibleSubjectJurisdictions(view, viewTable, known);
      const perField = fieldsOf(config, name, viewTable).map((field) => ({ field, denied: denials(input, agent, purpose, possible, [field]) }));
      const always = perField[0]!.denied.filter((d) => perField.every(({ denied }) => denied.some((other) => sameFinding(d, other))));
      const at = `${agent.id} acting for ${purpose}`;
      if (always.length > 0) {
        const purposeUnknown = always.filter((d) => d.check === 'purpose_limitation');
        const path: ConfigPath = purposeUnknown.length > 0 ? ['agents', agent.id, 'purposes', purposeIndex] : ['policies', p, 'tables', name];
        findings.push(
          finding(
            purposeUnknown.length > 0 ? sources.agents : sources.policies,
            path,
            'error',
            `every answer from ${name} to ${at} is refused (${denialCode(always)}): ${always.map((d) => `${d.message} (${d.rule})`).join('; ')}`,
            fixesFor(input, agent, purpose, name, always),
          ),
        );
        continue;
      }
      // Fields refused for the same reasons make one finding, at the field when it is one, else at the table.
      const byReasons = new Map<string, { fields: string[]; denied: Finding[] }>();
      for (const { field, denied } of perField.filter(({ denied }) => denied.length > 0)) {
        const key = denied.map((d) => `${d.check}|${d.jurisdiction}|${d.rule}`).join('\n');
        const group = byReasons.get(key) ?? { fields: [], denied };
        group.fields.push(field.field);
        byReasons.set(key, group);
      }
      for (const { fields, denied } of byReasons.values()) {
        const path: ConfigPath = ['policies', p, 'tables', name, ...(fields.length === 1 ? ['fields', viewTable.policy.fields.indexOf(fields[0]!)] : [])];
        findings.push(
          finding(
            sources.policies,
            path,
            'warning',
            `answers from ${name} that include ${fields.length === 1 ? fields[0] : `any of ${fields.join(', ')}`} are refused to ${at} (${denialCode(denied)}): ${denied.map((d) => `${d.message} (${d.rule})`).join('; ')}`,
            fixesFor(input, agent, purpose, name, denied),
          ),
        );
      }
    }
  }
  return findings;
}

function fieldsOf(config: ProjectConfig, table: string, viewTable: ViewTable): RequestField[] {
  return describeFields(
    config.catalog,
    [...viewTable.fields.entries()].map(([field, viewField]) => ({ table, field, ...maskDescription(viewField) })),
  );
}

/** One fix per check and rule set, naming the jurisdictions it concerns. */
function fixesFor(input: LintInput, agent: AgentDefinition, purpose: string, table: string, denied: readonly Finding[]): string {
  const groups = new Map<string, Finding[]>();
  for (const denial of denied) {
    const key = `${denial.check}|${input.jurisdictions.byJurisdiction.get(denial.jurisdiction)?.id}|${denial.rule}`;
    groups.set(key, [...(groups.get(key) ?? []), denial]);
  }
  return [...groups.values()].map((group) => fixFor(input, agent, purpose, table, group)).join('; ');
}

function fixFor(input: LintInput, agent: AgentDefinition, purpose: string, table: string, group: readonly Finding[]): string {
  const { check, jurisdiction, rule } = group[0]!;
  const codes = group.map((d) => d.jurisdiction).join(', ');
  const set = input.jurisdictions.byJurisdiction.get(jurisdiction);
  const source = set ? input.sources.ruleSets.get(set.id) : undefined;
  const exclude = `or keep ${codes} subjects out of the policy (subjectJurisdiction: { notIn: [${codes}] })`;
  switch (check) {
    case 'purpose_limitation': {
      const where = source ? `${source.file}:${source.lineOf(['purposeLimitation', 'purposes'])}` : `the ${jurisdiction} rule set`;
      return `if "${purpose}" was notified to ${codes} subjects, add it with its data classes under purposeLimitation.purposes in ${where}, ${exclude}`;
    }
    case 'cross_border_transfer': {
      const bases = set ? Object.keys(set.transfers.bases).join(', ') : '';
      return `put a transfer basis in place and list it under agents.${agent.id}.transferBases (${codes}) in schema/agents.yaml${bases ? ` (${set!.short} bases: ${bases})` : ''}, ${exclude}`;
    }
    default:
      return `see ${rule}${source ? ` in ${source.file}` : ''}; drop the field from the ${table} policy, ${exclude}`;
  }
}
