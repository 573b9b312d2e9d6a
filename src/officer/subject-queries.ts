import { currentRecordedPseudonym, type FieldAccess } from '../audit/index.ts';
import type { Catalog } from '../config/index.ts';
import { ident, type Queryable } from '../sql/index.ts';
import { type AuditFilter, auditConditions } from './filter.ts';
import { type FlowRow, summarisedFlows } from './summary-queries.ts';

/** Questions about data subjects, answered from audit_subjects: pseudonyms only, never raw ids. */

export interface FlowCell {
  /** Only when the flows are counted per agent. */
  agent: string | null;
  agentLocation: string | null;
  subjectJurisdiction: string | null;
  records: number;
  subjects: number;
  crossBorder: boolean;
}

export interface SubjectAccess {
  seq: number;
  recordedAt: Date;
  actorKind: string;
  actorId: string | null;
  purpose: string | null;
  actorLocation: string | null;
  operationName: string | null;
  subjectJurisdiction: string | null;
  tables: string[];
  fields: FieldAccess[];
  rowCount: number;
}

/**
 * Whether data about a subject of `subjectJurisdiction` going to an agent in `agentLocation` crosses a border
 * that transfer rules care about. Within the EU (EU-DE → EU-FR) data moves freely under the GDPR.
 */
export function isCrossBorder(agentLocation: string | null, subjectJurisdiction: string | null): boolean {
  if (!agentLocation || !subjectJurisdiction || agentLocation === subjectJurisdiction) return false;
  const region = (code: string) => (code.startsWith('EU-') ? 'EU' : code);
  return region(agentLocation) !== region(subjectJurisdiction);
}

/**
 * The matrix agent location × subject jurisdiction, or (byAgent) agent × subject jurisdiction with the agent's
 * location alongside: how many records carried such subjects, and how many subjects.
 */
export async function crossBorderFlows(db: Queryable, filter: AuditFilter, byAgent = false): Promise<FlowCell[]> {
  const rows = (await summarisedFlows(db, filter, byAgent)) ?? (await crossBorderFlowsFromLog(db, filter, byAgent));
  return rows.map((r) => ({
    agent: r.agent,
    agentLocation: r.location,
    subjectJurisdiction: r.jurisdiction,
    records: Number(r.records),
    subjects: Number(r.subjects),
    crossBorder: isCrossBorder(r.location, r.jurisdiction),
  }));
}

/** The flows by a scan of the log and its subjects: filters the summaries do not keep, and tests, use it. */
export async function crossBorderFlowsFromLog(db: Queryable, filter: AuditFilter, byAgent = false): Promise<FlowRow[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<FlowRow>(
    `SELECT ${byAgent ? 'a.actor_id' : 'NULL::text'} AS agent, a.actor_location AS location, s.jurisdiction,
            count(DISTINCT a.seq) AS records, count(DISTINCT s.subject) AS subjects
       FROM audit_log a JOIN audit_subjects s ON s.audit_seq = a.seq
      WHERE ${auditConditions(filter, params, 'a', { subject: 's' })}
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    params,
  );
  return rows;
}

/**
 * Every request whose answer held a row about the subject with this reference (`subjectPseudonym`), oldest
 * first. The records know the subject only under its own key: none once that key is erased.
 */
export async function accessesToSubject(db: Queryable, subjectRef: string): Promise<SubjectAccess[]> {
  const pseudonym = await currentRecordedPseudonym(db, subjectRef);
  if (pseudonym === null) return [];
  const { rows } = await db.query<{
    seq: number;
    recorded_at: Date;
    actor_kind: string;
    actor_id: string | null;
    purpose: string | null;
    actor_location: string | null;
    operation_name: string | null;
    jurisdiction: string | null;
    tables: string[];
    fields: FieldAccess[];
    row_count: number;
  }>(
    `SELECT a.seq, a.recorded_at, a.actor_kind, a.actor_id, a.purpose, a.actor_location, a.operation_name,
            s.jurisdictions[array_position(s.subjects, $1)] AS jurisdiction, a.tables, a.fields, a.row_count
       FROM audit_subject_lists s JOIN audit_log a ON a.seq = s.audit_seq
      WHERE s.subjects @> ARRAY[$1::text] ORDER BY a.seq`,
    [pseudonym],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    recordedAt: new Date(r.recorded_at),
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    purpose: r.purpose,
    actorLocation: r.actor_location,
    operationName: r.operation_name,
    subjectJurisdiction: r.jurisdiction,
    tables: r.tables,
    fields: r.fields,
    rowCount: Number(r.row_count),
  }));
}

/** The identifiers an officer may hold for a data subject; exactly one kind is given (name goes with birthDate). */
export interface SubjectIdentifier {
  customerId?: string | null;
  email?: string | null;
  nationalId?: string | null;
  name?: string | null;
  birthDate?: string | null;
}

export type IdentifierKind = 'customerId' | 'email' | 'nationalId' | 'nameAndBirthDate';

/** The kind of identifier given, or null when none or several kinds were given (a name needs its birth date). */
export function identifierKind(subject: SubjectIdentifier): IdentifierKind | null {
  const given = (value: string | null | undefined) => typeof value === 'string' && value.trim() !== '';
  const kinds: IdentifierKind[] = [];
  if (given(subject.customerId)) kinds.push('customerId');
  if (given(subject.email)) kinds.push('email');
  if (given(subject.nationalId)) kinds.push('nationalId');
  if (given(subject.name) || given(subject.birthDate)) {
    if (!given(subject.name) || !given(subject.birthDate)) return null;
    kinds.push('nameAndBirthDate');
  }
  return kinds.length === 1 ? kinds[0]! : null;
}

/** The customer subject table's key and the columns that hold each identifier, found by their catalog tags. */
export interface SubjectDirectory {
  table: string;
  primaryKey: string;
  /** A bigint or integer key: compared as a number, so its index serves the lookup. */
  integerKey: boolean;
  email: string | null;
  nationalId: string | null;
  name: string | null;
  birthDate: string | null;
}

export function customerDirectory(catalog: Catalog): SubjectDirectory | null {
  const tableName = catalog.subjects.get('customer')?.table;
  const table = tableName === undefined ? undefined : catalog.tables.get(tableName);
  if (!table) return null;
  const tagged = (tag: string) => [...table.columns.values()].find((c) => c.tags.includes(tag))?.name ?? null;
  return {
    table: table.name,
    primaryKey: table.primaryKey,
    integerKey: ['bigint', 'integer'].includes(table.columns.get(table.primaryKey)?.type ?? ''),
    email: tagged('pii.email'),
    nationalId: tagged('pii.national_id'),
    name: tagged('pii.name'),
    birthDate: tagged('pii.birth_date'),
  };
}

/** How many customers an identifier names, and the id when it names exactly one. */
export interface SubjectMatch {
  matches: number;
  customerId: string | null;
}

/**
 * The customers an identifier names, matched in the database with parameters: an e-mail compared trimmed and
 * case-folded, a national id exactly as stored, a name (trimmed, case-folded) together with its birth date.
 * Null when the catalog has no column for that kind of identifier.
 */
export async function matchSubject(db: Queryable, directory: SubjectDirectory, kind: IdentifierKind, subject: SubjectIdentifier): Promise<SubjectMatch | null> {
  const key = `${ident(directory.primaryKey)}::text`;
  const folded = (column: string) => `lower(btrim(${ident(column)})) = lower(btrim($1))`;
  let where: string;
  let params: unknown[];
  const id = String(subject.customerId ?? '').trim();
  if (kind === 'customerId' && directory.integerKey) {
    if (!/^-?\d{1,18}$/.test(id)) return { matches: 0, customerId: null };
    [where, params] = [`${ident(directory.primaryKey)} = $1::bigint`, [id]];
  } else if (kind === 'customerId') [where, params] = [`${key} = $1`, [id]];
  else if (kind === 'email' && directory.email) [where, params] = [folded(directory.email), [subject.email]];
  else if (kind === 'nationalId' && directory.nationalId) [where, params] = [`${ident(directory.nationalId)} = btrim($1)`, [subject.nationalId]];
  else if (kind === 'nameAndBirthDate' && directory.name && directory.birthDate)
    [where, params] = [`${folded(directory.name)} AND ${ident(directory.birthDate)} = $2::date`, [subject.name, subject.birthDate]];
  else return null;
  const { rows } = await db.query<{ matches: number; id: string | null }>(
    `SELECT count(*) AS matches, min(${key}) AS id FROM ${ident(directory.table)} WHERE ${where}`,
    params,
  );
  const matches = Number(rows[0]?.matches ?? 0);
  return { matches, customerId: matches === 1 ? (rows[0]?.id ?? null) : null };
}

export type SubjectLookupOutcome = 'NO_SUCH_SUBJECT' | 'AMBIGUOUS' | 'NOT_SEEN' | 'SEEN';

/** The answer to "who has seen this person?": `subject` (the pseudonym) only when the identifier named one customer. */
export interface SubjectReport {
  outcome: SubjectLookupOutcome;
  matches: number;
  subject: string | null;
  agents: string[];
  accesses: SubjectAccess[];
}

/**
 * The document an officer hands a data subject who asked what was done with their data (GDPR Art. 15(1)(a)-(c),
 * PDPA s 21(1)(b)): each recipient, when, for what purpose, and which fields it received, masked how.
 */
export function accessRequestDocument(report: SubjectReport, officer: string, generatedAt: Date) {
  return {
    kind: 'keyhole/data-subject-access-report',
    version: 1,
    answers: ['GDPR Art. 15', 'PDPA s 21'],
    generatedAt: generatedAt.toISOString(),
    generatedBy: officer,
    outcome: report.outcome,
    matches: report.matches,
    subject: report.subject,
    recipients: report.agents,
    disclosures: report.accesses.map((a) => ({
      auditSeq: a.seq,
      at: a.recordedAt.toISOString(),
      recipient: a.actorId,
      recipientKind: a.actorKind,
      recipientLocation: a.actorLocation,
      purpose: a.purpose,
      subjectJurisdiction: a.subjectJurisdiction,
      fields: a.fields.map((f) => ({ table: f.table, field: f.field, mask: f.mask, rule: f.rule ?? null })),
    })),
  };
}
