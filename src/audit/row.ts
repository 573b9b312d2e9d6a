import type { AuditRecord } from './record.ts';

/** An audit_log row: what the writer sends (as JSON) and what the database gives back. */
export interface AuditRow {
  seq: number;
  recorded_at: Date | string;
  request_id: string;
  actor_kind: AuditRecord['actorKind'];
  actor_id: string | null;
  on_behalf_of: string | null;
  purpose: string | null;
  actor_location: string | null;
  operation_kind: string;
  operation_name: string | null;
  operation_hash: string | null;
  decision: AuditRecord['decision'];
  code: string | null;
  reason: string | null;
  tables: string[];
  fields: AuditRecord['fields'];
  row_count: number;
  subject_count: number;
  subjects_digest: string;
  jurisdictions: string[];
  privacy_cost: AuditRecord['privacyCost'];
  findings: AuditRecord['findings'];
  details: AuditRecord['details'];
  prev_hash: string;
  hash: string;
}

type UnhashedRow = Omit<AuditRow, 'hash'>;
type UnhashedRecord = Omit<AuditRecord, 'hash'>;

/** PostgreSQL text and jsonb can hold neither NUL nor an unpaired surrogate: each becomes U+FFFD. */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/** A JSON value with every string and key storable, so jsonb keeps it as it is. */
function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)]));
  }
  return value;
}

/**
 * A text column's value whatever the caller put in the record: a non-string would otherwise be hashed as
 * itself and stored as PostgreSQL's text rendering of it.
 */
function textColumn(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const textArray = (values: readonly unknown[]): string[] => values.map((value) => textColumn(value) ?? '');

/**
 * The row exactly as the database will keep it: text columns are text, every value has been through JSON
 * (dates become ISO text, undefined goes, -0 becomes 0) and holds nothing PostgreSQL would refuse or alter.
 * The writer hashes the record read back from this row, so what is hashed is what is stored.
 */
export function storedRow(record: UnhashedRecord): UnhashedRow {
  const row = {
    seq: record.seq,
    recorded_at: record.recordedAt.toISOString(),
    request_id: textColumn(record.requestId),
    actor_kind: textColumn(record.actorKind),
    actor_id: textColumn(record.actorId),
    on_behalf_of: textColumn(record.onBehalfOf),
    purpose: textColumn(record.purpose),
    actor_location: textColumn(record.actorLocation),
    operation_kind: textColumn(record.operationKind),
    operation_name: textColumn(record.operationName),
    operation_hash: textColumn(record.operationHash),
    decision: textColumn(record.decision),
    code: textColumn(record.code),
    reason: textColumn(record.reason),
    tables: textArray(record.tables),
    fields: record.fields,
    row_count: record.rowCount,
    subject_count: record.subjectCount,
    subjects_digest: textColumn(record.subjectsDigest),
    jurisdictions: textArray(record.jurisdictions),
    privacy_cost: record.privacyCost,
    findings: record.findings,
    details: record.details,
    prev_hash: textColumn(record.prevHash),
  };
  return storableJson(JSON.parse(JSON.stringify(row))) as UnhashedRow;
}

/** The record a row holds: the one mapping the writer (before hashing) and every reader use. */
export function recordFieldsFromRow(row: UnhashedRow): UnhashedRecord {
  return {
    seq: Number(row.seq),
    recordedAt: new Date(row.recorded_at),
    requestId: row.request_id,
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    onBehalfOf: row.on_behalf_of ?? null,
    purpose: row.purpose,
    actorLocation: row.actor_location,
    operationKind: row.operation_kind,
    operationName: row.operation_name,
    operationHash: row.operation_hash,
    decision: row.decision,
    code: row.code,
    reason: row.reason,
    tables: row.tables,
    fields: row.fields,
    rowCount: row.row_count,
    subjectCount: row.subject_count,
    subjectsDigest: row.subjects_digest,
    jurisdictions: row.jurisdictions,
    privacyCost: row.privacy_cost,
    findings: row.findings,
    details: row.details,
    prevHash: row.prev_hash,
  };
}

export function recordFromRow(row: AuditRow): AuditRecord {
  return { ...recordFieldsFromRow(row), hash: row.hash };
}
