import type { Db, Queryable } from '../sql/index.ts';
import type { AuditDraft, AuditRecord } from './record.ts';
import { appendAuditRecords } from './writer.ts';

/**
 * The last word on a batch's drafts, inside its transaction and before they are chained: it may turn a draft
 * into a denial (an agent revoked since its request began), never drop one; same length, same order.
 */
export type SettleDrafts = (tx: Queryable, drafts: readonly AuditDraft[]) => Promise<AuditDraft[]>;

/** Settles nothing: every draft is recorded as drafted. */
export const keepDrafts: SettleDrafts = async (_, drafts) => [...drafts];

interface Waiting {
  draft: AuditDraft;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

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
  private queue: Waiting[] = [];
  private writing = false;

  constructor(db: Db, key: Uint8Array, options: { maxBatch?: number; settle?: SettleDrafts } = {}) {
    this.db = db;
    this.key = key;
    this.maxBatch = options.maxBatch ?? 256;
    this.settle = options.settle ?? keepDrafts;
  }

  /**
   * Resolves once the record is durable — as drafted, or as `settle` changed it, which callers compare —
   * and rejects if its batch could not be committed (nothing of it was).
   */
  append(draft: AuditDraft): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const records = await this.db.transaction(async (tx) =>
          appendAuditRecords(
            tx,
            this.key,
            await this.settle(
              tx,
              batch.map((waiting) => waiting.draft),
            ),
          ),
        );
        for (const [i, waiting] of batch.entries()) waiting.resolve(records[i]!);
      } catch (error) {
        // The whole batch rolled back: no caller may send its data, and none of the records exists.
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.writing = false;
  }
}
