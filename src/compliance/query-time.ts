import { currentRecordedPseudonyms } from '../audit/index.ts';
import type { Catalog } from '../config/index.ts';
import { possibleSubjectJurisdictions, type View } from '../policy/index.ts';
import { refusal } from '../request/refusals.ts';
import type { RequestState } from '../request/state.ts';
import type { Queryable } from '../sql/index.ts';
import { runComplianceChecks } from './evaluate.ts';
import { type ComplianceRequest, describeFields, type Finding, type RequestField, type TransferVolume } from './request.ts';
import type { RuleSet } from './rule-schema.ts';
import type { JurisdictionRules } from './rules.ts';
import { sensitiveFields } from './special-categories.ts';
import { isTransfer } from './transfer.ts';

const TRANSFER_CHECKS = new Set(['cross_border_transfer', 'transfer_volume']);

/** TRANSFER_DENIED when only transfer rules deny, COMPLIANCE_DENIED when any other rule does (special categories, …). */
export function denialCode(denials: readonly Finding[]): 'TRANSFER_DENIED' | 'COMPLIANCE_DENIED' {
  return denials.every((denial) => TRANSFER_CHECKS.has(denial.check)) ? 'TRANSFER_DENIED' : 'COMPLIANCE_DENIED';
}

export interface ComplianceGateOptions {
  rules: JurisdictionRules;
  catalog: Catalog;
}

/** Runs on the request's statements (its transaction, if it has one), after its reads and before its audit record. */
export type ComplianceGate = (state: RequestState, tx: Queryable) => Promise<void>;

/**
 * Distinct subjects of `jurisdiction` whose data reached agents at `location` this calendar year, this
 * request included — overall and for the fields the rule set treats as sensitive.
 */
async function yearlyVolume(
  tx: Queryable,
  location: string,
  jurisdiction: string,
  current: { all: string[]; sensitive: string[] },
  sensitiveNames: string[],
): Promise<TransferVolume> {
  const yearStart = new Date(Date.UTC(new Date().getUTCFullYear(), 0, 1));
  const { rows } = await tx.query<{ personal: number; sensitive: number }>(
    `WITH past AS (
       SELECT s.subject,
              EXISTS (SELECT 1 FROM jsonb_array_elements(l.fields) f WHERE (f->>'table') || '.' || (f->>'field') = ANY($4::text[])) AS sensitive
       FROM audit_subjects s JOIN audit_log l ON l.seq = s.audit_seq
       WHERE l.actor_location = $1 AND s.jurisdiction = $2 AND l.recorded_at >= $3 AND l.decision = 'allowed'
     ), everyone AS (
       SELECT subject, sensitive FROM past
       UNION ALL SELECT unnest($5::text[]), false
       UNION ALL SELECT unnest($6::text[]), true
     )
     SELECT count(DISTINCT subject)::int8 AS personal, count(DISTINCT subject) FILTER (WHERE sensitive)::int8 AS sensitive FROM everyone`,
    [location, jurisdiction, yearStart, sensitiveNames, current.all, current.sensitive],
  );
  return { personal: Number(rows[0]?.personal ?? 0), sensitive: Number(rows[0]?.sensitive ?? 0) };
}

/**
 * Compliance at the moment of each query: cross-border transfer, special categories, purpose limitation,
 * government identifiers and yearly volumes, for the data subjects actually returned. A deny refuses the
 * whole answer (it never leaves, the refusal and its findings are audited); flags ride along in the record.
 */
export function makeComplianceGate(options: ComplianceGateOptions): ComplianceGate {
  const { rules, catalog } = options;
  const known = [...rules.byJurisdiction.keys()];
  const viewJurisdictions = (view: View, tables: Iterable<string>): string[] => [
    ...new Set(
      [...tables].flatMap((name) => {
        const viewTable = view.tables.get(name);
        return viewTable ? possibleSubjectJurisdictions(view, viewTable, known) : [];
      }),
    ),
  ];
  // The catalog columns each rule set counts as sensitive, worked out once rather than on every request.
  const sensitiveColumns = new Map<RuleSet, string[]>();
  const sensitiveColumnsOf = (set: RuleSet): string[] => {
    let names = sensitiveColumns.get(set);
    if (!names) {
      names = [...catalog.tables.values()].flatMap((table) =>
        sensitiveFields(set, [...table.columns.values()]).map((column) => `${table.name}.${column.name}`),
      );
      sensitiveColumns.set(set, names);
    }
    return names;
  };
  return async (state, tx) => {
    const principal = state.principal;
    if (principal?.kind !== 'agent') return;
    // Rows read beside an aggregate are rows: judged as an aggregate, a jurisdiction that deems aggregates anonymous
    // would wave the rows through with it.
    const access = state.access.aggregate && !state.access.readsRows ? 'aggregate' : 'rows';
    const fields: RequestField[] = describeFields(catalog, state.access.fields.values());
    const subjectsByJurisdiction = new Map<string, string[]>();
    for (const [subject, jurisdiction] of state.access.subjects) {
      if (jurisdiction === null) continue;
      const subjects = subjectsByJurisdiction.get(jurisdiction);
      if (subjects) subjects.push(subject);
      else subjectsByJurisdiction.set(jurisdiction, [subject]);
    }
    const transferVolumes: Record<string, TransferVolume> = {};
    for (const [jurisdiction, subjects] of subjectsByJurisdiction) {
      const set = rules.byJurisdiction.get(jurisdiction);
      if (!set || set.transferVolumes.length === 0 || !isTransfer(set, jurisdiction, principal.agent.location)) continue;
      const sensitive = sensitiveFields(set, fields);
      const sensitiveNames = sensitiveColumnsOf(set);
      // Past records name subjects by their recorded pseudonyms: compare like with like, or a subject seen
      // earlier this year would count twice. A subject without one yet is new this year.
      const recorded = await currentRecordedPseudonyms(tx, subjects);
      const current = subjects.map((ref) => recorded.get(ref) ?? ref);
      transferVolumes[jurisdiction] = await yearlyVolume(
        tx,
        principal.agent.location,
        jurisdiction,
        { all: current, sensitive: sensitive.length > 0 ? current : [] },
        sensitiveNames,
      );
    }
    const request: ComplianceRequest = {
      agent: principal.agent,
      purpose: principal.purpose,
      access,
      fields,
      lookupFields: describeFields(catalog, state.access.lookups.values()),
      subjectJurisdictions: [...subjectsByJurisdiction.keys()],
      transferVolumes,
    };
    const result = runComplianceChecks(request, rules);
    // A denial must not depend on whether someone the agent's filter matched is of a denied jurisdiction, or the
    // agent could test people one predicate at a time: it is decided on every jurisdiction the view can return.
    // Yearly volumes are counts of people actually read, and stay with the answer's own subjects.
    const possible = access === 'rows' && state.view ? viewJurisdictions(state.view, state.access.tables) : [];
    const viewDenials = runComplianceChecks({ ...request, subjectJurisdictions: possible }, rules).findings.filter(
      (finding) => finding.outcome === 'deny' && finding.check !== 'transfer_volume',
    );
    const sameFinding = (a: Finding, b: Finding) => a.check === b.check && a.jurisdiction === b.jurisdiction && a.rule === b.rule;
    const findings = [...result.findings, ...viewDenials.filter((denial) => !result.findings.some((finding) => sameFinding(finding, denial)))];
    state.access.findings.push(...findings.map((finding) => ({ ...finding })));
    const denials = findings.filter((finding) => finding.outcome === 'deny');
    if (denials.length > 0) {
      throw refusal(denialCode(denials), `Compliance rules deny this answer: ${denials.map((d) => `${d.message} (${d.rule})`).join('; ')}`, {
        findings: denials.map(({ check, jurisdiction, rule }) => ({ check, jurisdiction, rule })),
      });
    }
  };
}
