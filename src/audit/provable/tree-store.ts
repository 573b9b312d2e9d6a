import type { Db, Queryable } from '../../sql/index.ts';
import { appendLeaves, type Frontier, frontierFromJson, frontierToJson, type ReadNodes, type TreeNode } from '../merkle/index.ts';
import { type AuditRow, recordFromRow } from '../row.ts';
import { ProvableAuditError } from './errors.ts';
import { auditLeafHash } from './leaf.ts';

const PAGE = 2_000;

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The columns of audit_head the tree lives in, as selected by `TREE_HEAD_COLUMNS`. */
export interface TreeHeadRow {
  seq: number | string;
  tree_size: number | string;
  tree_frontier: string[];
}

export const TREE_HEAD_COLUMNS = 'seq, tree_size, tree_frontier';

export const frontierOf = (row: TreeHeadRow): Frontier => frontierFromJson({ size: Number(row.tree_size), hashes: row.tree_frontier });

/** Completed subtrees as the compact JSON `nodesInsert` takes: one [level, index, hex] per node. */
export const nodesJson = (nodes: readonly TreeNode[]): string => JSON.stringify(nodes.map((node) => [node.level, node.index, toHex(node.hash)]));

/** An INSERT of the nodes passed as `nodesJson` in parameter `$param`, usable as a part of a WITH. */
export const nodesInsert = (param: number): string =>
  `INSERT INTO audit_tree_nodes (level, idx, hash) SELECT (n->>0)::int2, (n->>1)::int8, decode(n->>2, 'hex') FROM jsonb_array_elements($${param}::jsonb) AS n`;

/** Stored subtree hashes, by `${level}:${index}`, in one statement whatever their number. */
export function nodeReader(db: Queryable): ReadNodes {
  return async (wanted) => {
    if (wanted.length === 0) return new Map();
    const { rows } = await db.query<{ level: number; idx: number | string; hash: Uint8Array }>(
      'SELECT n.level, n.idx, n.hash FROM audit_tree_nodes n JOIN unnest($1::int2[], $2::int8[]) AS w(level, idx) USING (level, idx)',
      [wanted.map((w) => w.level), wanted.map((w) => w.index)],
    );
    return new Map(rows.map((row) => [`${row.level}:${Number(row.idx)}`, new Uint8Array(row.hash)]));
  };
}

/**
 * Brings the tree up to the chain (a log written before the tree existed), inside the caller's transaction which
 * holds the head lock: the leaves of records frontier.size + 1 .. seq, read in pages, and their nodes stored.
 * Refuses a log with records missing (pruned before the tree existed, or removed): their leaves cannot be known.
 */
export async function catchUpTree(tx: Queryable, head: TreeHeadRow): Promise<Frontier> {
  const seq = Number(head.seq);
  let frontier = frontierOf(head);
  if (frontier.size > seq) {
    throw new ProvableAuditError('AUDIT_TREE_AHEAD', `the audit tree holds ${frontier.size} leaves but the chain only ${seq} records: audit_head was altered`);
  }
  while (frontier.size < seq) {
    const { rows } = await tx.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3', [frontier.size, seq, PAGE]);
    const leaves: Uint8Array[] = [];
    for (const row of rows) {
      const record = recordFromRow(row);
      if (record.seq !== frontier.size + leaves.length + 1) break;
      leaves.push(auditLeafHash(record));
    }
    if (leaves.length === 0) {
      throw new ProvableAuditError(
        'AUDIT_TREE_GAP',
        `record ${frontier.size + 1} is missing (pruned before the audit tree existed, or removed): the tree cannot be built past ${frontier.size}`,
      );
    }
    const extended = appendLeaves(frontier, leaves);
    await tx.query(nodesInsert(1), [nodesJson(extended.completed)]);
    frontier = extended.frontier;
  }
  await tx.query('UPDATE audit_head SET tree_size = $1, tree_frontier = $2::jsonb WHERE id = 1', [
    frontier.size,
    JSON.stringify(frontierToJson(frontier).hashes),
  ]);
  return frontier;
}

/** The tree as committed, caught up with the chain first if it trails it (a log older than the tree). */
export async function ensureAuditTree(db: Db): Promise<Frontier> {
  const head = (await db.query<TreeHeadRow>(`SELECT ${TREE_HEAD_COLUMNS} FROM audit_head WHERE id = 1`)).rows[0];
  if (!head) throw new Error('audit_head is missing: run the migrations');
  if (Number(head.tree_size) === Number(head.seq)) return frontierOf(head);
  return db.transaction(async (tx) => {
    const locked = (await tx.query<TreeHeadRow>(`SELECT ${TREE_HEAD_COLUMNS} FROM audit_head WHERE id = 1 FOR UPDATE`)).rows[0]!;
    return Number(locked.tree_size) === Number(locked.seq) ? frontierOf(locked) : catchUpTree(tx, locked);
  });
}
