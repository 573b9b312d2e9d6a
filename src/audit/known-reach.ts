import { EpochMemory } from './epoch-memory.ts';

/** One row of audit_subject_reach (150-officer-summaries.sql): '' stands for an absent value, days are UTC. */
export interface ReachRow {
  subject: string;
  actor_kind: string;
  actor_id: string;
  actor_location: string;
  jurisdiction: string;
  last_day: string;
}

/** A record's subjects as the writer stores them, with what keys their reach. */
export interface ReachingRecord {
  actorKind: string;
  actorId: string | null;
  actorLocation: string | null;
  recordedAt: Date;
  subjects: ReadonlyMap<string, string | null>;
}

/**
 * The audit_subject_reach keys (subject, actor, location, jurisdiction) a broker has committed, each with the last
 * day committed. Reach rows are only ever added or moved to a later day, and only emptied with the log (which bumps
 * the key epoch), so a key remembered here is in the table, from any broker's point of view, at least that late.
 */
export const knownReach = (max = 131_072) => new EpochMemory(max);

const reachKey = (row: ReachRow) => [row.subject, row.actor_kind, row.actor_id, row.actor_location, row.jurisdiction].join('\u0000');

/**
 * The reach rows a batch must write: one per key with the batch's last day for it, except keys `known` to be in
 * the table already at that day or later (the index probe the write would otherwise make per subject).
 */
export function reachRowsToWrite(records: readonly ReachingRecord[], known: ReadonlyMap<string, string>): Map<string, ReachRow> {
  const rows = new Map<string, ReachRow>();
  for (const record of records) {
    const day = record.recordedAt.toISOString().slice(0, 10);
    for (const [subject, jurisdiction] of record.subjects) {
      const row: ReachRow = {
        subject,
        actor_kind: record.actorKind,
        actor_id: record.actorId ?? '',
        actor_location: record.actorLocation ?? '',
        jurisdiction: jurisdiction ?? '',
        last_day: day,
      };
      const key = reachKey(row);
      if ((rows.get(key)?.last_day ?? '') < day) rows.set(key, row);
    }
  }
  for (const [key, row] of rows) if ((known.get(key) ?? '') >= row.last_day) rows.delete(key);
  return rows;
}
