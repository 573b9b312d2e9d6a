import type { Log } from '../../log.ts';
import type { Queryable } from '../../sql/index.ts';
import { checkpointBody, frontierRoot, signNote } from '../merkle/index.ts';
import type { CheckpointConfig } from './checkpoint-config.ts';
import type { CheckpointKey } from './checkpoint-key.ts';
import type { CheckpointSink } from './checkpoint-sink.ts';
import { frontierOf, type TreeHeadRow } from './tree-store.ts';

export interface SignedCheckpoint {
  size: number;
  root: Uint8Array;
  note: string;
}

interface HeadAndLatest extends TreeHeadRow {
  signed_size: number | string | null;
  signed_at: Date | string | null;
}

/**
 * Whether the tree has grown enough, or long enough ago, since the latest checkpoint to sign another. Before the
 * first checkpoint, `latest` is the empty tree as of when the checkpointer started.
 */
export function checkpointDue(
  config: Pick<CheckpointConfig, 'everyRecords' | 'everySeconds'>,
  size: number,
  latest: { size: number; at: Date },
  now: Date,
): boolean {
  if (size <= latest.size) return false;
  return size - latest.size >= config.everyRecords || now.getTime() - latest.at.getTime() >= config.everySeconds * 1000;
}

/** The signed note of the tree `frontier` describes: origin, size, root, and the time it was signed. */
export function signCheckpoint(key: CheckpointKey, origin: string, row: TreeHeadRow, now: Date): SignedCheckpoint {
  const frontier = frontierOf(row);
  const root = frontierRoot(frontier);
  const body = checkpointBody({ origin, size: frontier.size, root, extensions: [`time ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}`] });
  return { size: frontier.size, root, note: signNote(body, [key.signer]) };
}

/** How many signed checkpoints no broker has appended to the sink yet. */
export async function unappendedCheckpoints(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: number | string }>('SELECT count(*) AS count FROM audit_checkpoints_signed WHERE sunk_at IS NULL');
  return Number(rows[0]?.count ?? 0);
}

export interface CheckpointerOptions {
  db: Queryable;
  key: CheckpointKey;
  config: CheckpointConfig;
  sink: CheckpointSink;
  log: Log;
  /** How often the head is looked at (1 s, or T when shorter). */
  pollMs?: number;
}

/**
 * Signs checkpoints of the committed tree every N records or T seconds, off the request path: each broker polls the
 * head, and a size is signed by whichever broker inserts it first (the primary key on size). The note is appended to
 * the sink after the insert commits, and `sunk_at` marks it taken, so a note the sink missed is appended on a later
 * poll by any broker. A tree of one size has one root, so two brokers racing sign the same statement anyway.
 */
export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SignedCheckpoint | null> | null = null;
  private readonly startedAt = new Date();
  private readonly options: CheckpointerOptions;
  constructor(options: CheckpointerOptions) {
    this.options = options;
  }

  /**
   * Signs the committed tree if a checkpoint is due (or `force`d and the tree grew), then appends what the sink lacks:
   * the new checkpoint, else null. An unreachable sink does not stop the signing; its error is thrown after it.
   */
  signDue(force = false): Promise<SignedCheckpoint | null> {
    this.running ??= this.signThenSink(force).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  start(): void {
    const pollMs = this.options.pollMs ?? Math.min(1000, this.options.config.everySeconds * 1000);
    this.timer = setInterval(() => {
      this.signDue().catch((error: unknown) =>
        this.options.log({ level: 'error', msg: 'audit checkpoint not signed, or not appended to its sink', error: String(error) }),
      );
    }, pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Appends every signed checkpoint the sink has not taken yet, oldest first: the one just signed, and any left by a
   * broker that stopped (or lost the sink) between signing and appending. Appending a note again is no conflict.
   */
  private async sinkPending(): Promise<void> {
    const { db, sink, log } = this.options;
    const pending = await db.query<{ size: number | string; note: string }>(
      'SELECT size, note FROM audit_checkpoints_signed WHERE sunk_at IS NULL ORDER BY size',
    );
    for (const row of pending.rows) {
      const size = Number(row.size);
      await sink.append(size, row.note);
      await db.query('UPDATE audit_checkpoints_signed SET sunk_at = now(), sunk_to = $2 WHERE size = $1 AND sunk_at IS NULL', [size, sink.where]);
      log({ msg: 'audit checkpoint appended', size, sink: sink.where });
    }
  }

  private async signThenSink(force: boolean): Promise<SignedCheckpoint | null> {
    const signed = await this.sign(force);
    await this.sinkPending();
    return signed;
  }

  private async sign(force: boolean): Promise<SignedCheckpoint | null> {
    const { db, key, config } = this.options;
    const row = (
      await db.query<HeadAndLatest>(
        `SELECT h.seq, h.tree_size, h.tree_frontier, c.size AS signed_size, c.signed_at
           FROM audit_head h LEFT JOIN LATERAL (SELECT size, signed_at FROM audit_checkpoints_signed ORDER BY size DESC LIMIT 1) c ON true
          WHERE h.id = 1`,
      )
    ).rows[0];
    if (!row) return null;
    const now = new Date();
    const latest = row.signed_size === null ? { size: 0, at: this.startedAt } : { size: Number(row.signed_size), at: new Date(row.signed_at!) };
    const size = Number(row.tree_size);
    const due = force ? size > latest.size : checkpointDue(config, size, latest, now);
    if (!due) return null;
    const checkpoint = signCheckpoint(key, config.origin, row, now);
    const inserted = await db.query(
      'INSERT INTO audit_checkpoints_signed (size, root, note, signed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING',
      [checkpoint.size, Buffer.from(checkpoint.root), checkpoint.note, now],
    );
    // Another broker signed this size first.
    return inserted.rowCount === 0 ? null : checkpoint;
  }
}
