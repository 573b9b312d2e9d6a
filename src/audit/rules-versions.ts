/**
 * Rules versions in the database (migration 130): each set of `schema/` and `masking-rules/` files a broker put in
 * force, stored once by content hash, and one audit record (`rules_version`) each time the version in force changes.
 */
import { diffRules, type RulesDiff, type RulesSnapshot } from '../config/rules-versions.ts';
import type { Db, Queryable } from '../sql/index.ts';
import { type ActorKind, stateChangeDraft } from './record.ts';
import { appendAuditRecord } from './writer.ts';

/** Who puts a version in force: the broker itself, on start or on a hot reload. */
const LOADER: { kind: ActorKind; id: string } = { kind: 'cli', id: 'rules-loader' };

export interface RulesVersionSummary {
  id: number;
  hash: string;
  createdAt: Date;
  inForceAt: Date;
  previousId: number | null;
  diff: RulesDiff;
}

export interface RulesVersion extends RulesVersionSummary {
  files: Record<string, string>;
}

/** What recording a snapshot did: the version it is stored as, and whether the version in force changed. */
export interface RecordedRulesVersion {
  id: number;
  hash: string;
  previousId: number | null;
  changed: boolean;
}

interface VersionRow {
  id: number | string;
  hash: string;
  created_at: Date;
  in_force_at: Date;
  previous_id: number | string | null;
  diff: RulesDiff;
  files?: Record<string, string>;
}

const SUMMARY_COLUMNS = 'id, hash, created_at, in_force_at, previous_id, diff';

const summaryOf = (row: VersionRow): RulesVersionSummary => ({
  id: Number(row.id),
  hash: row.hash,
  createdAt: new Date(row.created_at),
  inForceAt: new Date(row.in_force_at),
  previousId: row.previous_id === null ? null : Number(row.previous_id),
  diff: row.diff,
});

/** The version brokers put in force last, with its files: what a broker may fall back on when the files on disk are invalid. */
export async function readRulesVersionInForce(db: Queryable): Promise<RulesVersion | undefined> {
  const row = await versionInForce(db);
  return row && { ...summaryOf(row), files: row.files ?? {} };
}

async function versionInForce(tx: Queryable): Promise<VersionRow | undefined> {
  const result = await tx.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS}, files FROM rules_versions ORDER BY in_force_at DESC, id DESC LIMIT 1`);
  return result.rows[0];
}

/**
 * Puts `snapshot` in force: stored if new (with its diff against the version in force), marked in force, and
 * audited when that replaces the version in force. Serialised across brokers by a table lock, so brokers
 * starting together on the same files record one version and one event.
 */
export async function recordRulesVersion(db: Db, auditKey: Uint8Array, snapshot: RulesSnapshot): Promise<RecordedRulesVersion> {
  return db.transaction(async (tx) => {
    await tx.query('LOCK TABLE rules_versions IN SHARE ROW EXCLUSIVE MODE');
    const previous = await versionInForce(tx);
    if (previous?.hash === snapshot.hash) return { id: Number(previous.id), hash: snapshot.hash, previousId: null, changed: false };
    const diff = diffRules(previous?.files ?? {}, snapshot.files);
    const previousId = previous ? Number(previous.id) : null;
    await tx.query(`INSERT INTO rules_versions (hash, previous_id, files, diff) VALUES ($1, $2, $3::jsonb, $4::jsonb) ON CONFLICT (hash) DO NOTHING`, [
      snapshot.hash,
      previousId,
      JSON.stringify(snapshot.files),
      JSON.stringify(diff),
    ]);
    // A version seen before (an edit undone) comes back into force under its old id.
    const stored = await tx.query<{ id: number | string }>('UPDATE rules_versions SET in_force_at = clock_timestamp() WHERE hash = $1 RETURNING id', [
      snapshot.hash,
    ]);
    const id = Number(stored.rows[0]!.id);
    // The first version is where the history starts, not a change: its row says when; nothing was in force before.
    if (!previous) return { id, hash: snapshot.hash, previousId, changed: true };
    await appendAuditRecord(
      tx,
      auditKey,
      stateChangeDraft({
        actor: LOADER,
        operationKind: 'rules_version',
        tables: ['rules_versions'],
        details: { rulesVersion: id, hash: snapshot.hash, previous: previousId, diff },
      }),
    );
    return { id, hash: snapshot.hash, previousId, changed: true };
  });
}

/** Every stored version, newest in force first, without the files' text. */
export async function listRulesVersions(db: Queryable, limit = 100): Promise<RulesVersionSummary[]> {
  const result = await db.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS} FROM rules_versions ORDER BY in_force_at DESC, id DESC LIMIT $1`, [limit]);
  return result.rows.map(summaryOf);
}

/** One stored version with the text of every file, so a cited `file:line` reads as it stood. */
export async function readRulesVersion(db: Queryable, id: number): Promise<RulesVersion | undefined> {
  const result = await db.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS}, files FROM rules_versions WHERE id = $1`, [id]);
  const row = result.rows[0];
  return row && { ...summaryOf(row), files: row.files ?? {} };
}
