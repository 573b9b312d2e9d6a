import type { Db } from '../sql/index.ts';
import type { AuditDraft, AuditRecord } from './record.ts';
import { appendAuditRecords } from './writer.ts';

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
  private queue: Waiting[] = [];
  private writing = false;

  constructor(db: Db, key: Uint8Array, maxBatch = 256) {
    this.db = db;
    this.key = key;
    this.maxBatch = maxBatch;
  }

  /** Resolves once the record is durable; rejects if its batch could not be committed (nothing of it was). */
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
        const records = await this.db.transaction((tx) => appendAuditRecords(tx, this.key, batch.map((waiting) => waiting.draft)));
        batch.forEach((waiting, i) => waiting.resolve(records[i]!));
      } catch (error) {
        // The whole batch rolled back: no caller may send its data, and none of the records exists.
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.writing = false;
  }
}
