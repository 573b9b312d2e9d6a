import { type Log, silentLog } from '../log.ts';
import type { Db, Queryable } from '../sql/index.ts';
import type { AuditDraft, AuditRecord } from './record.ts';
import { knownReach } from './known-reach.ts';
import { KnownPseudonyms } from './subject-keys.ts';
import { appendAuditRecords } from './writer.ts';

/**
 * The last word on a batch's drafts, inside its transaction and before they are chained: it may turn a draft
 * into a denial (an agent revoked since its request began), never drop one; same length, same order.
 */
export type SettleDrafts = (tx: Queryable, drafts: readonly AuditDraft[]) => Promise<AuditDraft[]>;

/** Settles nothing: every draft is recorded as drafted. */
export const keepDrafts: SettleDrafts = async (_, drafts) => [...drafts];

/** One group commit as an observer sees it: how many records, how long its transaction took, whether it committed. */
export interface AuditBatchObserved {
  size: number;
  seconds: number;
  committed: boolean;
}

interface Waiting {
  draft: AuditDraft;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

export interface AuditBatcherOptions {
  maxBatch?: number;
  settle?: SettleDrafts;
  log?: Log;
  /** How often refusals that could not be recorded are tried again (1 s when absent). */
  retryMs?: number;
  /** How many such refusals are kept for later at most; beyond, each is logged as unrecordable (10,000). */
  maxBacklog?: number;
  /** Told of every batch written (metrics); it must not throw. */
  observe?: (batch: AuditBatchObserved) => void;
}

/** Decisions that released nothing: recorded late, they still tell the truth (an allowed draft whose batch failed was never sent). */
const refusal = (draft: AuditDraft) => draft.decision === 'denied' || draft.decision === 'error';

/**
 * Group commit for the audit log: records that arrive while a batch is being written join the next batch,
 * and each batch is one transaction (one head lock, one commit, one fsync). Every caller waits until the
 * transaction holding its own record has committed — durability per record, throughput from batching.
 */
export class AuditBatcher {
  private readonly db: Db;
  private readonly key: Uint8Array;
  private readonly maxBatch: number;
  private readonly settle: SettleDrafts;
  private readonly log: Log;
  private readonly retryMs: number;
  private readonly maxBacklog: number;
  private readonly observe: ((batch: AuditBatchObserved) => void) | undefined;
  private queue: Waiting[] = [];
  private writing = false;
  private drained: Promise<void> = Promise.resolve();
  /**
   * Refusals whose batch failed (the database down, the log refusing writes), one per request id: their callers
   * were answered without data, and their records are written once the database takes them again.
   */
  private readonly backlog = new Map<string, AuditDraft>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** The attempt at the backlog in progress: one at a time, or the same refusal could be recorded twice. */
  private retrying: Promise<void> | null = null;
  private stopped = false;
  /** Subjects' recorded pseudonyms: agents keep returning to the same people, whose keys need not be read again. */
  private readonly pseudonyms = new KnownPseudonyms();
  /** Reach keys committed: the same people, the same agent and day, need no summary write after the first. */
  private readonly reach = knownReach();

  constructor(db: Db, key: Uint8Array, options: AuditBatcherOptions = {}) {
    this.db = db;
    this.key = key;
    this.maxBatch = options.maxBatch ?? 256;
    this.settle = options.settle ?? keepDrafts;
    this.log = options.log ?? silentLog;
    this.retryMs = options.retryMs ?? 1000;
    this.maxBacklog = options.maxBacklog ?? 10_000;
    this.observe = options.observe;
  }

  /**
   * Resolves once the record is durable — as drafted, or as `settle` changed it, which callers compare —
   * and rejects if its batch could not be committed (nothing of it was).
   */
  append(draft: AuditDraft): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (!this.writing) this.drained = this.drain();
    });
  }

  /**
   * Resolves once every record appended so far has been committed or refused, and the late refusals tried once
   * more (shutdown waits for this, then stops the batcher).
   */
  async flush(): Promise<void> {
    await this.drained;
    await this.retryBacklog();
  }

  /** Stops retrying late refusals (the database is closing); what is left is logged as unrecordable. */
  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopped = true;
    if (this.backlog.size > 0) {
      this.log({ level: 'error', msg: 'audit records of refusals left unrecordable', requestIds: [...this.backlog.keys()] });
      this.backlog.clear();
    }
  }

  private async write(drafts: readonly AuditDraft[]): Promise<AuditRecord[]> {
    const known = this.pseudonyms.scope();
    const reach = this.reach.scope();
    const started = performance.now();
    const observed = (committed: boolean) => this.observe?.({ size: drafts.length, seconds: (performance.now() - started) / 1000, committed });
    const records = await this.db
      .transaction(async (tx) => {
        const settled = await this.settle(tx, drafts);
        // Callers are answered by position: a draft dropped or added would hand each later caller another's record.
        if (settled.length !== drafts.length) throw new Error(`settling ${drafts.length} audit drafts gave ${settled.length}: the batch is not recorded`);
        return appendAuditRecords(tx, this.key, settled, known, reach);
      })
      .catch((error: unknown) => {
        observed(false);
        throw error;
      });
    observed(true);
    known.commit();
    reach.commit();
    return records;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const records = await this.write(batch.map((waiting) => waiting.draft));
        for (const [i, waiting] of batch.entries()) waiting.resolve(records[i]!);
      } catch (error) {
        // The whole batch rolled back: no caller may send its data, and none of the records exists.
        for (const waiting of batch) waiting.reject(error);
        this.keepForLater(batch.map((waiting) => waiting.draft).filter(refusal), error);
      }
    }
    this.writing = false;
  }

  private keepForLater(drafts: readonly AuditDraft[], error: unknown): void {
    for (const draft of drafts) {
      // A request's later attempts to record its refusal (each stage tries) would be duplicates: the first stands.
      if (this.backlog.has(draft.requestId)) continue;
      if (this.backlog.size >= this.maxBacklog) {
        this.log({ level: 'error', msg: 'audit record of a refusal unrecordable', requestId: draft.requestId, error: String(error) });
        continue;
      }
      this.backlog.set(draft.requestId, draft);
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.backlog.size === 0 || this.retryTimer || this.retrying || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryBacklog();
    }, this.retryMs);
    // Late records must not keep a process alive: flush() makes the last attempt, stop() gives up.
    this.retryTimer.unref();
  }

  private retryBacklog(): Promise<void> {
    // Cleared in `finally`, which runs after the assignment even when there is nothing to write (an async body
    // with no await would finish, and clear `retrying`, before `??=` stores it: no retry would ever run again).
    this.retrying ??= this.writeBacklog().finally(() => {
      this.retrying = null;
      this.scheduleRetry();
    });
    return this.retrying;
  }

  private async writeBacklog(): Promise<void> {
    try {
      while (this.backlog.size > 0) {
        const drafts = [...this.backlog.values()].slice(0, this.maxBatch);
        await this.write(drafts);
        for (const draft of drafts) this.backlog.delete(draft.requestId);
        this.log({ level: 'warn', msg: 'audit records of refusals written late', count: drafts.length });
      }
    } catch {
      // Still down: the next attempt is scheduled once this one is over.
    }
  }
}
