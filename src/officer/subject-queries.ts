import { currentRecordedPseudonym, type FieldAccess } from '../audit/index.ts';
import type { Queryable } from '../sql/index.ts';
import { type AuditFilter, auditConditions } from './filter.ts';

/** Questions about data subjects, answered from audit_subjects: pseudonyms only, never raw ids. */

export interface FlowCell {
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

/** The matrix agent location × subject jurisdiction: how many records carried such subjects, and how many subjects. */
export async function crossBorderFlows(db: Queryable, filter: AuditFilter): Promise<FlowCell[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<{ location: string | null; jurisdiction: string | null; records: number; subjects: number }>(
    `SELECT a.actor_location AS location, s.jurisdiction, count(DISTINCT a.seq) AS records, count(DISTINCT s.subject) AS subjects
       FROM audit_log a JOIN audit_subjects s ON s.audit_seq = a.seq
      WHERE ${auditConditions(filter, params, 'a', { subject: 's' })}
      GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  return rows.map((r) => ({
    agentLocation: r.location,
    subjectJurisdiction: r.jurisdiction,
    records: Number(r.records),
    subjects: Number(r.subjects),
    crossBorder: isCrossBorder(r.location, r.jurisdiction),
  }));
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
