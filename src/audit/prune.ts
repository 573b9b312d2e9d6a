import type { Db, Queryable } from '../sql/index.ts';
import { checkpointSignature, GENESIS, latestCheckpoint } from './checkpoint.ts';
import { type ActorKind, stateChangeDraft } from './record.ts';
import { verifyAuditChain } from './verify.ts';
import { appendAuditRecord } from './writer.ts';

const DAY_MS = 86_400_000;
export const DEFAULT_PRUNE_BATCH = 5_000;

/** How long access records about one jurisdiction's subjects must be kept, and on what authority. */
export interface RetentionRule {
  days: number;
  rule: string;
  law: string;
}

export interface RetentionPolicy {
  byJurisdiction: ReadonlyMap<string, RetentionRule>;
  /** Subjects of a jurisdiction no rule set governs: the longest period of all, as nothing says less. */
  ungoverned: RetentionRule;
  /** Records that name no data subject (refusals, officer queries): the operator's own jurisdiction, else the longest. */
  noSubjects: RetentionRule;
}

/** The part of the loaded jurisdiction rule sets that retention needs (src/compliance's JurisdictionRules). */
export interface RetentionRuleSets {
  sets: ReadonlyArray<{ short: string; jurisdictions: readonly string[]; retention: { accessRecords: { days: number; rule: string } } }>;
}

export class RetentionPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionPolicyError';
  }
}

/**
 * The retention periods of access records, per subject jurisdiction, from the rule sets. `operatorJurisdiction`
 * is the jurisdiction whose law governs records that concern no data subject; without it they get the longest.
 */
export function retentionPolicy(rules: RetentionRuleSets, operatorJurisdiction?: string): RetentionPolicy {
  const byJurisdiction = new Map<string, RetentionRule>();
  let longest: RetentionRule | null = null;
  for (const set of rules.sets) {
    const rule = { days: set.retention.accessRecords.days, rule: set.retention.accessRecords.rule, law: set.short };
    for (const code of set.jurisdictions) byJurisdiction.set(code, rule);
    if (!longest || rule.days > longest.days) longest = rule;
  }
  if (!longest) throw new RetentionPolicyError('no jurisdiction rule sets: retention periods are unknown');
  let noSubjects = longest;
  if (operatorJurisdiction !== undefined) {
    const own = byJurisdiction.get(operatorJurisdiction);
    if (!own)
      throw new RetentionPolicyError(`no jurisdiction rule set governs "${operatorJurisdiction}"; known: ${[...byJurisdiction.keys()].sort().join(', ')}`);
    noSubjects = own;
  }
  return { byJurisdiction, ungoverned: longest, noSubjects };
}

/** The longest period that applies to a record about subjects of these jurisdictions. */
export function retentionFor(policy: RetentionPolicy, jurisdictions: readonly string[]): RetentionRule {
  if (jurisdictions.length === 0) return policy.noSubjects;
  return jurisdictions
    .map((code) => policy.byJurisdiction.get(code) ?? policy.ungoverned)
    .reduce((longest, rule) => (rule.days > longest.days ? rule : longest));
}

/** Records a prune would delete although a retention period still covers them. */
export interface RetentionConflict {
  jurisdictions: string[];
  records: number;
  newest: Date;
  keepUntil: Date;
  retention: RetentionRule;
}

export interface PrunePlan {
  before: Date;
  /** Records fromSeq..throughSeq go; none when throughSeq < fromSeq. */
  fromSeq: number;
  throughSeq: number;
  records: number;
  conflicts: RetentionConflict[];
}

/**
 * What `before` would prune. Only a prefix of the chain can go (a checkpoint vouches for everything before
 * it), so pruning stops at the first record, in chain order, recorded at or after the cut-off.
 */
export async function planPrune(db: Queryable, options: { before: Date; policy: RetentionPolicy; now?: Date }): Promise<PrunePlan> {
  const now = options.now ?? new Date();
  const start = await latestCheckpoint(db);
  const stop = await db.query<{ seq: number }>(
    `SELECT coalesce((SELECT min(seq) FROM audit_log WHERE seq > $1 AND recorded_at >= $2),
                     (SELECT max(seq) FROM audit_log) + 1, $1 + 1) AS seq`,
    [start.seq, options.before],
  );
  const throughSeq = Number(stop.rows[0]!.seq) - 1;
  const groups = await db.query<{ jurisdictions: string[]; n: number; newest: Date }>(
    'SELECT jurisdictions, count(*)::int8 AS n, max(recorded_at) AS newest FROM audit_log WHERE seq > $1 AND seq <= $2 GROUP BY jurisdictions',
    [start.seq, throughSeq],
  );
  const conflicts: RetentionConflict[] = [];
  let records = 0;
  for (const group of groups.rows) {
    records += Number(group.n);
    const retention = retentionFor(options.policy, group.jurisdictions);
    const newest = new Date(group.newest);
    const keepUntil = new Date(newest.getTime() + retention.days * DAY_MS);
    if (keepUntil > now) conflicts.push({ jurisdictions: group.jurisdictions, records: Number(group.n), newest, keepUntil, retention });
  }
  conflicts.sort((a, b) => b.keepUntil.getTime() - a.keepUntil.getTime());
  return { before: options.before, fromSeq: start.seq + 1, throughSeq, records, conflicts };
}

export class PruneRefusedError extends Error {
  /** Retention refusals give way to `force`; a broken chain never does. */
  readonly overridable: boolean;
  constructor(message: string, overridable = false) {
    super(message);
    this.name = 'PruneRefusedError';
    this.overridable = overridable;
  }
}

/** One line per conflict, e.g. "2 records about CN subjects (PIPL Art. 56: 1095 days) must be kept until 2028-05-31". */
export function describeConflicts(conflicts: readonly RetentionConflict[]): string[] {
  return conflicts.map((c) => {
    const about = c.jurisdictions.length > 0 ? `about ${c.jurisdictions.join('+')} subjects` : 'naming no data subject';
    return `${c.records} records ${about} (${c.retention.law}, ${c.retention.rule}: ${c.retention.days} days) must be kept until ${c.keepUntil.toISOString().slice(0, 10)}`;
  });
}

export interface PruneOptions {
  actor: { kind: ActorKind; id: string | null };
  /** Delete records a retention period still covers (recorded in the prune's own audit record). */
  force?: boolean;
  batchSize?: number;
  onProgress?: (phase: 'verifying' | 'pruning', done: number, total: number) => void;
}

export interface PruneResult {
  pruned: number;
  /** The latest checkpoint: records up to here are gone. */
  prunedThrough: number;
  /** The prune's own audit record, when anything was pruned. */
  auditSeq: number | null;
}

/**
 * Deletes the records after the latest checkpoint up to `to` and leaves the signed checkpoint that vouches for
 * them, in the caller's transaction: the records it deleted (none when another pruner got there first).
 */
async function pruneBatch(tx: Queryable, auditKey: Uint8Array, before: Date, to: number): Promise<{ from: number; count: number }> {
  // One pruner at a time; readers (verifiers) are not blocked.
  await tx.query('LOCK TABLE audit_checkpoints IN EXCLUSIVE MODE');
  const from = (await tx.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM audit_checkpoints')).rows[0]?.seq ?? GENESIS.seq;
  const after = Number(from);
  if (to <= after) return { from: after + 1, count: 0 };
  const last = (await tx.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [to])).rows[0];
  await tx.query('DELETE FROM audit_subject_lists WHERE audit_seq > $1 AND audit_seq <= $2', [after, to]);
  const deleted = await tx.query('DELETE FROM audit_log WHERE seq > $1 AND seq <= $2', [after, to]);
  if (!last || deleted.rowCount !== to - after) {
    throw new PruneRefusedError(`records ${after + 1}..${to} are not all present: the chain changed during the prune; verify it`);
  }
  const checkpoint = { seq: to, hash: last.hash, prunedCount: to - after, prunedBefore: before, createdAt: new Date() };
  await tx.query('INSERT INTO audit_checkpoints (seq, hash, pruned_count, pruned_before, created_at, signature) VALUES ($1, $2, $3, $4, $5, $6)', [
    checkpoint.seq,
    checkpoint.hash,
    checkpoint.prunedCount,
    checkpoint.prunedBefore,
    checkpoint.createdAt,
    checkpointSignature(auditKey, checkpoint),
  ]);
  return { from: after + 1, count: deleted.rowCount };
}

/**
 * Carries out a plan: refuses when the chain does not verify (a prune must never bury tampering) or when a
 * retention period still covers records, unless forced; then deletes in batches, each in its own transaction
 * with its checkpoint, so an interrupted prune leaves a chain that verifies. The prune is audited.
 */
export async function pruneAuditLog(db: Db, auditKey: Uint8Array, plan: PrunePlan, options: PruneOptions): Promise<PruneResult> {
  if (plan.conflicts.length > 0 && !options.force) {
    throw new PruneRefusedError(
      `retention periods still cover records before ${plan.before.toISOString()}: ${describeConflicts(plan.conflicts).join('; ')}`,
      true,
    );
  }
  const chain = await verifyAuditChain(db, auditKey, (done, total) => options.onProgress?.('verifying', done, total));
  if (!chain.ok) {
    const bad = chain.firstBad!;
    throw new PruneRefusedError(`the audit chain is broken at record ${bad.seq} (${bad.problem}): ${bad.detail}; nothing was pruned`);
  }
  const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH;
  let pruned = 0;
  // What this prune deleted itself: a concurrent pruner may have taken the start of the plan.
  let prunedFrom: number | null = null;
  for (let done = plan.fromSeq - 1; done < plan.throughSeq; ) {
    const to = Math.min(done + batchSize, plan.throughSeq);
    const batch = await db.transaction((tx) => pruneBatch(tx, auditKey, plan.before, to));
    if (batch.count > 0) prunedFrom ??= batch.from;
    pruned += batch.count;
    done = to;
    options.onProgress?.('pruning', pruned, plan.records);
  }
  if (pruned === 0) return { pruned, prunedThrough: (await latestCheckpoint(db)).seq, auditSeq: null };
  const record = await db.transaction((tx) =>
    appendAuditRecord(
      tx,
      auditKey,
      stateChangeDraft({
        actor: options.actor,
        operationKind: 'audit_prune',
        tables: ['audit_log', 'audit_subjects'],
        rowCount: pruned,
        details: {
          before: plan.before.toISOString(),
          prunedFrom,
          prunedThrough: plan.throughSeq,
          retentionOverridden: plan.conflicts.length > 0 ? describeConflicts(plan.conflicts) : [],
        },
      }),
    ),
  );
  return { pruned, prunedThrough: plan.throughSeq, auditSeq: record.seq };
}
