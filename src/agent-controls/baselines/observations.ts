import type { FieldAccess } from '../../audit/index.ts';
import { type AnomalyStatistic, REQUEST_STATISTICS, WINDOW_STATISTICS } from '../../config/index.ts';
import type { AccessTally } from '../../request/state.ts';

export { REQUEST_STATISTICS, WINDOW_STATISTICS };
export type RequestStatistic = (typeof REQUEST_STATISTICS)[number];
export type WindowStatistic = (typeof WINDOW_STATISTICS)[number];

/**
 * The least spread each statistic is scored with (see spreadOf), in its own unit: one row, one person, one field,
 * one request; 0.01 of ε. A constant baseline (every request one row) does not alarm on one more.
 */
export const SPREAD_FLOORS: Readonly<Record<AnomalyStatistic, number>> = {
  rowsPerRequest: 1,
  subjectsPerRequest: 1,
  fieldsPerRequest: 1,
  epsilonPerRequest: 0.01,
  requestsPerWindow: 1,
  rowsPerWindow: 1,
  subjectsPerWindow: 1,
  denialsPerWindow: 1,
  maskedFilterAttemptsPerWindow: 1,
  epsilonPerWindow: 0.01,
};

/** What the baselines take from one request of an agent: its audit record, or its tally before the record is written. */
export interface RequestObservation {
  at: Date;
  /** Only answered requests are scored per request and learned; refusals count in their window. */
  allowed: boolean;
  /** Refused, or waiting for a human approval. */
  refused: boolean;
  /** Refused for filtering, sorting or paging by a masked field: probing what the mask hides. */
  maskedFilterAttempt: boolean;
  /** Per-request statistics it has; ε only when it released something differentially private. */
  values: Partial<Record<RequestStatistic, number>>;
  /** `table.field` of every field returned. */
  fields: readonly string[];
}

/** The part of an audit record (an audit_log row with its subject list) that observations are made of. */
export interface ObservedRecord {
  recorded_at: Date | string;
  decision: string;
  code: string | null;
  row_count: number;
  fields: readonly Pick<FieldAccess, 'table' | 'field'>[];
  subject_count: number;
  privacy_cost: { epsilon?: unknown; replayed?: unknown } | null;
}

export const fieldKey = (access: Pick<FieldAccess, 'table' | 'field'>) => `${access.table}.${access.field}`;

/** The ε a request spent, as its record declares it: 0 for a replayed answer, absent when it released nothing under DP. */
function epsilonSpent(cost: ObservedRecord['privacy_cost']): number | undefined {
  if (cost === null) return undefined;
  return cost.replayed === true ? 0 : Number(cost.epsilon ?? 0);
}

export function observeRecord(record: ObservedRecord): RequestObservation {
  const fields = [...new Set(record.fields.map(fieldKey))];
  const epsilon = epsilonSpent(record.privacy_cost);
  return {
    at: new Date(record.recorded_at),
    allowed: record.decision === 'allowed',
    refused: record.decision === 'denied' || record.decision === 'pending_approval',
    maskedFilterAttempt: record.code === 'MASKED_FIELD_FILTER',
    values: {
      rowsPerRequest: Number(record.row_count),
      subjectsPerRequest: Number(record.subject_count),
      fieldsPerRequest: fields.length,
      ...(epsilon === undefined ? {} : { epsilonPerRequest: epsilon }),
    },
    fields,
  };
}

/** The same observation of a request still running, from its access tally: no ε yet (it is charged after). */
export function observeTally(access: Pick<AccessTally, 'rowCount' | 'subjects' | 'fields'>, at: Date): RequestObservation {
  const fields = [...access.fields.values()].map(fieldKey);
  return {
    at,
    allowed: true,
    refused: false,
    maskedFilterAttempt: false,
    values: { rowsPerRequest: access.rowCount, subjectsPerRequest: access.subjects.size, fieldsPerRequest: new Set(fields).size },
    fields,
  };
}
