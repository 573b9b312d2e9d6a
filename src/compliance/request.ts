import type { FieldAccess } from '../audit/index.ts';
import type { Catalog, TagClass } from '../config/index.ts';
import type { Outcome } from './rule-schema.ts';

export type CheckName = 'cross_border_transfer' | 'special_category' | 'purpose_limitation' | 'government_identifier' | 'transfer_volume' | 'rule_coverage';

/** One conclusion of one check about one jurisdiction's data subjects, as written into the audit record. */
export interface Finding {
  check: CheckName;
  jurisdiction: string;
  outcome: Outcome;
  /** The article or section relied on, e.g. 'GDPR Art. 46(2)(c)'. */
  rule: string;
  message: string;
}

export interface CheckResult {
  outcome: Outcome;
  findings: Finding[];
}

/** What the checks need to know about an agent (an `AgentDefinition` fits). */
export interface ComplianceAgent {
  id: string;
  /** Where the agent processes data: the destination of any transfer. */
  location: string;
  /** Per data-subject jurisdiction, the transfer bases the operator has put in place. */
  transferBases: Readonly<Record<string, readonly string[]>>;
}

/** A field a request returns (or filters by), as audited, with its catalog classification. */
export interface RequestField extends FieldAccess {
  tags: readonly string[];
  classes: readonly TagClass[];
}

/** Distinct data subjects of one jurisdiction whose data went to the agent's location this calendar year. */
export interface TransferVolume {
  /** Subjects whose non-sensitive personal data was transferred (including this request). */
  personal: number;
  /** Subjects whose sensitive personal data was transferred (including this request). */
  sensitive: number;
}

export interface ComplianceRequest {
  agent: ComplianceAgent;
  purpose: string;
  /** 'aggregate' = differentially private statistics only, no individual records leave. */
  access: 'rows' | 'aggregate';
  fields: readonly RequestField[];
  /** Fields the request selects rows by (filters, lookups): using an identifier this way adopts it. */
  lookupFields?: readonly RequestField[];
  /** Jurisdictions of the data subjects whose rows are returned. */
  subjectJurisdictions: Iterable<string>;
  /** Per subject jurisdiction, the yearly volume to the agent's location; needed where thresholds apply. */
  transferVolumes?: Readonly<Record<string, TransferVolume>>;
}

const SEVERITY: Readonly<Record<Outcome, number>> = { allow: 0, flag: 1, deny: 2 };

export function worstOutcome(outcomes: Iterable<Outcome>): Outcome {
  let worst: Outcome = 'allow';
  for (const outcome of outcomes) if (SEVERITY[outcome] > SEVERITY[worst]) worst = outcome;
  return worst;
}

export function resultOf(findings: Finding[]): CheckResult {
  return { outcome: worstOutcome(findings.map((finding) => finding.outcome)), findings };
}

/** Classes whose values are personal data (pseudonymous ids and free text included): their flow is regulated. */
export const PERSONAL_DATA_CLASSES: ReadonlySet<TagClass> = new Set(['identifier', 'personal', 'special', 'financial', 'untrusted']);

export function carriesPersonalData(classes: Iterable<TagClass>): boolean {
  for (const dataClass of classes) if (PERSONAL_DATA_CLASSES.has(dataClass)) return true;
  return false;
}

/**
 * Whether a field's recorded mask shows the value in clear to subjects of `jurisdiction`. Masks are recorded
 * as 'clear', one function name, or per-jurisdiction variants such as 'SG:partial,EU-DE:hash,redact'
 * (the bare name applying to every other jurisdiction).
 */
export function isClearFor(mask: string, jurisdiction: string): boolean {
  const variants = mask.split(',').map((variant) => variant.trim());
  const own = variants.find((variant) => variant.startsWith(`${jurisdiction}:`));
  const applying = own ? own.slice(jurisdiction.length + 1) : variants.find((variant) => !/^[A-Z]{2}(-[A-Z]{2})?:/.test(variant));
  return applying === 'clear';
}

/** Audited field accesses with their tags and classes looked up in the catalog (unknown fields get none). */
export function describeFields(catalog: Catalog, fields: Iterable<FieldAccess>): RequestField[] {
  return [...fields].map((access) => {
    const column = catalog.tables.get(access.table)?.columns.get(access.field);
    return { ...access, tags: column?.tags ?? [], classes: column ? [...column.classes] : [] };
  });
}

export function hasAnyTag(field: { tags: readonly string[] }, tags: readonly string[]): boolean {
  return field.tags.some((tag) => tags.includes(tag));
}
