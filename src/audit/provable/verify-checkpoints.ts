import type { Queryable } from '../../sql/index.ts';
import { latestCheckpoint } from '../checkpoint.ts';
import {
  appendLeaves,
  type Checkpoint,
  EMPTY_FRONTIER,
  type Frontier,
  frontierRoot,
  type NoteVerifier,
  openNote,
  parseCheckpointBody,
  rootAt,
} from '../merkle/index.ts';
import { perfectSubtrees } from '../merkle/layout.ts';
import { type AuditRow, recordFromRow } from '../row.ts';
import { type CheckpointSource, checkpointFileName, sizeInCheckpointName } from './checkpoint-sink.ts';
import { ProvableAuditError } from './errors.ts';
import { auditLeafHash } from './leaf.ts';
import { nodeReader } from './tree-store.ts';

export type CheckpointProblem = 'forged' | 'foreign' | 'replayed' | 'truncated' | 'rewritten' | 'missing';

export interface CheckpointFault {
  /** The file or URL the checkpoint came from. */
  source: string;
  size: number | null;
  problem: CheckpointProblem;
  detail: string;
}

export interface CheckpointVerification {
  ok: boolean;
  /** Checkpoints whose signature verified. */
  checkpoints: number;
  /** Leaves of the tree recomputed from the records (and, for a pruned prefix, from its stored nodes). */
  treeSize: number;
  faults: CheckpointFault[];
}

const PAGE = 2_000;

/** Opens each note with the public key; what fails is forged, from another log, or under another file's name. */
export function openCheckpoints(
  sources: readonly CheckpointSource[],
  verifier: NoteVerifier,
  origin: string,
): { opened: Array<{ source: string; checkpoint: Checkpoint }>; faults: CheckpointFault[] } {
  const opened: Array<{ source: string; checkpoint: Checkpoint }> = [];
  const faults: CheckpointFault[] = [];
  for (const { source, note } of sources) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = parseCheckpointBody(openNote(note, [verifier]).body);
    } catch (error) {
      faults.push({ source, size: null, problem: 'forged', detail: `${source} is not signed by the checkpoint key: ${(error as Error).message}` });
      continue;
    }
    if (checkpoint.origin !== origin) {
      faults.push({ source, size: checkpoint.size, problem: 'foreign', detail: `${source} is a checkpoint of "${checkpoint.origin}", not of "${origin}"` });
      continue;
    }
    const named = sizeInCheckpointName(source);
    if (named !== null && named !== checkpoint.size) {
      faults.push({
        source,
        size: checkpoint.size,
        problem: 'replayed',
        detail: `${source} should hold the checkpoint of size ${named} but holds the one of size ${checkpoint.size} (an older checkpoint copied over a newer one?)`,
      });
      continue;
    }
    opened.push({ source, checkpoint });
  }
  return { opened, faults };
}

/** The frontier of the first `size` leaves from stored nodes: where a pruned log's records no longer say. */
async function storedFrontier(db: Queryable, size: number): Promise<Frontier> {
  const wanted = perfectSubtrees(0, size);
  const found = await nodeReader(db)(wanted);
  const hashes = wanted.map(({ level, index }) => found.get(`${level}:${index}`));
  if (hashes.some((hash) => hash === undefined)) {
    throw new ProvableAuditError('AUDIT_TREE_GAP', `the stored tree nodes of the ${size} pruned records are incomplete: audit_tree_nodes was altered`);
  }
  return { size, hashes: hashes as Uint8Array[] };
}

/**
 * Checkpoints this database says it appended to `sink` that the sink no longer holds: deleted from it. (Whoever
 * also deletes the database's rows hides that; a bucket under object lock is what stops the deletion itself.)
 */
async function missingFromSink(
  db: Queryable,
  sink: string,
  sources: readonly CheckpointSource[],
  opened: ReadonlyArray<{ checkpoint: Checkpoint }>,
): Promise<CheckpointFault[]> {
  const held = new Set([...opened.map(({ checkpoint }) => checkpoint.size), ...sources.map(({ source }) => sizeInCheckpointName(source))]);
  const { rows } = await db.query<{ size: number | string; sunk_at: Date | string }>(
    'SELECT size, sunk_at FROM audit_checkpoints_signed WHERE sunk_to = $1 ORDER BY size',
    [sink],
  );
  return rows
    .filter(({ size }) => !held.has(Number(size)))
    .map(({ size, sunk_at }) => ({
      source: checkpointFileName(Number(size)),
      size: Number(size),
      problem: 'missing' as const,
      detail: `the checkpoint of size ${size} was appended to ${sink} at ${new Date(sunk_at).toISOString()} and is no longer there: it was deleted`,
    }));
}

export interface VerifyCheckpointsOptions {
  /** The sink the sources were read from (its `where`): every checkpoint appended to it must still be there. */
  sink?: string;
}

/**
 * Checks the log against checkpoints kept outside it. The tree is recomputed from the records themselves (the stored
 * nodes are not trusted, except for a pruned prefix, which only they still describe), and at each checkpoint's size
 * its root must be the checkpoint's: a log shorter than a checkpoint lost its tail; a different root means a record
 * was rewritten, even with a recomputed HMAC chain. Two checkpoints of one size with different roots: one is false.
 * Read from a `sink`, a checkpoint appended to it and gone from it is a fault too.
 */
export async function verifyAgainstCheckpoints(
  db: Queryable,
  sources: readonly CheckpointSource[],
  verifier: NoteVerifier,
  origin: string,
  options: VerifyCheckpointsOptions = {},
): Promise<CheckpointVerification> {
  const { opened, faults } = openCheckpoints(sources, verifier, origin);
  if (options.sink !== undefined) faults.push(...(await missingFromSink(db, options.sink, sources, opened)));
  const bySize = [...opened].sort((a, b) => a.checkpoint.size - b.checkpoint.size);
  const prunedThrough = (await latestCheckpoint(db)).seq;
  const rewritten = ({ source, checkpoint }: { source: string; checkpoint: Checkpoint }, root: Uint8Array) => {
    if (Buffer.from(root).equals(checkpoint.root)) return;
    faults.push({
      source,
      size: checkpoint.size,
      problem: 'rewritten',
      detail: `the log's first ${checkpoint.size} records do not have the root ${source} signed: records up to ${checkpoint.size} were rewritten`,
    });
  };
  let next = 0;
  // Checkpoints within a pruned prefix: only the stored nodes still describe those records.
  for (; next < bySize.length && bySize[next]!.checkpoint.size < prunedThrough; next++) {
    rewritten(bySize[next]!, await rootAt(bySize[next]!.checkpoint.size, nodeReader(db)));
  }
  let frontier = prunedThrough > 0 ? await storedFrontier(db, prunedThrough) : EMPTY_FRONTIER;
  const compare = () => {
    for (; next < bySize.length && bySize[next]!.checkpoint.size <= frontier.size; next++) rewritten(bySize[next]!, frontierRoot(frontier));
  };
  compare();
  for (let after = prunedThrough; ; ) {
    const { rows } = await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE]);
    if (rows.length === 0) break;
    for (const row of rows) {
      const record = recordFromRow(row);
      // Records missing in the middle: the chain walk names them; here the tree simply stops where they start.
      if (record.seq !== frontier.size + 1) break;
      frontier = appendLeaves(frontier, [auditLeafHash(record)]).frontier;
      compare();
    }
    if (Number(rows.at(-1)!.seq) !== frontier.size) break;
    after = frontier.size;
  }
  for (const { source, checkpoint } of bySize.slice(next)) {
    faults.push({
      source,
      size: checkpoint.size,
      problem: 'truncated',
      detail: `${source} vouches for ${checkpoint.size} records but the log holds ${frontier.size}: records ${frontier.size + 1}-${checkpoint.size} were removed`,
    });
  }
  return { ok: faults.length === 0, checkpoints: opened.length, treeSize: frontier.size, faults };
}
