/**
 * What one broker remembers of rows it has committed to the audit log's side tables (subjects' pseudonyms, reach
 * keys), kept while the key epoch it was read under stands. Erasure and emptying the log bump
 * `audit_head.key_epoch` under the head lock; a writer reads the epoch under that same lock, so nothing remembered
 * from before such a change is used after it. Bounded (oldest dropped first).
 */
export class EpochMemory {
  private epoch: string | null = null;
  private readonly byKey = new Map<string, string>();
  private readonly max: number;

  constructor(max = 65_536) {
    this.max = max;
  }

  /** A view for one transaction: what it learns is kept only once `commit` says that transaction committed. */
  scope(): EpochMemoryScope {
    return new EpochMemoryScope(this);
  }

  /** The values known under `epoch`: any other epoch than the one kept drops every value first. */
  under(epoch: string): ReadonlyMap<string, string> {
    if (epoch !== this.epoch) {
      this.byKey.clear();
      this.epoch = epoch;
    }
    return this.byKey;
  }

  /**
   * Keeps values a committed transaction read or wrote under `epoch`. A row written in a transaction that rolled
   * back never existed, so nothing is kept before the commit; and once a later epoch has been seen, what an
   * earlier one learned is dropped.
   */
  keep(epoch: string, learned: ReadonlyMap<string, string>): void {
    if (epoch !== this.epoch) return;
    for (const [key, value] of learned) {
      if (this.byKey.size >= this.max && !this.byKey.has(key)) this.byKey.delete(this.byKey.keys().next().value!);
      this.byKey.set(key, value);
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** One transaction's use of an `EpochMemory`. */
export class EpochMemoryScope {
  private readonly memory: EpochMemory;
  private epoch: string | null = null;
  private readonly learned = new Map<string, string>();

  constructor(memory: EpochMemory) {
    this.memory = memory;
  }

  under(epoch: string): ReadonlyMap<string, string> {
    this.epoch = epoch;
    return this.memory.under(epoch);
  }

  learn(key: string, value: string): void {
    this.learned.set(key, value);
  }

  /** Call once the transaction has committed. */
  commit(): void {
    if (this.epoch !== null) this.memory.keep(this.epoch, this.learned);
  }
}
