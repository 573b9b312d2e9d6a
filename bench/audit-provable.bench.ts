/**
 * The provable audit log (issue 15): what extending the Merkle tree costs a group commit, what a signed checkpoint
 * costs, and how long a proof takes at a million records. Two fresh PostgreSQL databases take turns committing the
 * same batches through the real writer; in one, a trigger discards the tree's node inserts ("chain alone"), so the
 * difference is the tree's database work. The writer's JavaScript side of the tree (leaf hashes, appendLeaves) runs
 * in both and is timed on its own below; "chain alone, less the tree's JS" takes it off too.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendAuditRecords, KnownPseudonyms, recordFromRow, type AuditRow } from '../src/audit/index.ts';
import { appendLeaves, consistencyProof, EMPTY_FRONTIER, type Frontier, inclusionProof, rootAt, verifyInclusion } from '../src/audit/merkle/index.ts';
import { auditLeafHash, Checkpointer, directorySink, loadCheckpointSetup, nodeReader } from '../src/audit/provable/index.ts';
import { nodesInsert, nodesJson } from '../src/audit/provable/tree-store.ts';
import { silentLog } from '../src/log.ts';
import type { Db } from '../src/sql/index.ts';
import { createEmptyBenchDatabase } from './support/database.ts';
import { median, ms } from './support/stats.ts';
import { probeDraft } from './support/audit-drafts.ts';

const PROBE_BATCH = 8;
const PROBE_SUBJECTS = 5;
const PROBES = Number(process.env.BENCH_PROVABLE_PROBES ?? 60);
const TREE_LEAVES = Number(process.env.BENCH_PROVABLE_LEAVES ?? 1_000_000);
const PROOFS = 200;
const KEY = randomBytes(32);

interface Log {
  db: Db;
  known: KnownPseudonyms;
}

async function commit(log: Log, first: number): Promise<number> {
  const drafts = Array.from({ length: PROBE_BATCH }, (_, i) =>
    probeDraft(first + i, new Map(Array.from({ length: PROBE_SUBJECTS }, (_, k) => [`customer:${((first + i) * PROBE_SUBJECTS + k) % 500}`, 'SG']))),
  );
  const scope = log.known.scope();
  const started = performance.now();
  await log.db.transaction((tx) => appendAuditRecords(tx, KEY, drafts, scope));
  scope.commit();
  return performance.now() - started;
}

/** The tree's JavaScript part of one batch: the records' leaf hashes and the frontier's extension. */
async function treeJsPerBatch(db: Db): Promise<number> {
  const { rows } = await db.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq LIMIT $1', [PROBE_BATCH]);
  const records = rows.map(recordFromRow);
  let frontier: Frontier = EMPTY_FRONTIER;
  const times: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const started = performance.now();
    frontier = appendLeaves(frontier, records.map(auditLeafHash)).frontier;
    times.push(performance.now() - started);
  }
  return median(times);
}

/** A tree of `leaves` random leaves stored as the writer stores it, in chunks. */
async function fillTree(db: Db, leaves: number): Promise<number> {
  const started = performance.now();
  let frontier: Frontier = EMPTY_FRONTIER;
  for (let done = 0; done < leaves; ) {
    const count = Math.min(50_000, leaves - done);
    const extended = appendLeaves(
      frontier,
      Array.from({ length: count }, () => new Uint8Array(randomBytes(32))),
    );
    await db.query(nodesInsert(1), [nodesJson(extended.completed)]);
    frontier = extended.frontier;
    done += count;
  }
  await db.exec('VACUUM ANALYZE audit_tree_nodes');
  return (performance.now() - started) / 1000;
}

async function timeEach(count: number, run: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await run(i);
    times.push(performance.now() - started);
  }
  return median(times);
}

export default async function auditProvableBench(): Promise<string> {
  const loadBefore = loadavg();
  const withTree = await createEmptyBenchDatabase({ poolSize: 2 });
  const chainAlone = await createEmptyBenchDatabase({ poolSize: 2 });
  const big = await createEmptyBenchDatabase({ poolSize: 2 });
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-bench-provable-'));
  try {
    await chainAlone.db.exec(`
      CREATE FUNCTION bench_discard() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
      CREATE TRIGGER bench_discard BEFORE INSERT ON audit_tree_nodes FOR EACH ROW EXECUTE FUNCTION bench_discard()`);
    const logs: Log[] = [withTree, chainAlone].map((database) => ({ db: database.db, known: new KnownPseudonyms() }));
    // Subjects get their keys first, so the probes measure appending, not making keys.
    for (const log of logs) for (let i = 0; i < 500 / PROBE_BATCH; i++) await commit(log, i * PROBE_BATCH);
    const times = logs.map((): number[] => []);
    for (let i = 0; i < PROBES; i++) for (const [n, log] of logs.entries()) times[n]!.push(await commit(log, 1000 + i * PROBE_BATCH));
    const [tree = Number.NaN, alone = Number.NaN] = times.map(median);
    const treeJs = await treeJsPerBatch(withTree.db);
    const aloneLessJs = alone - treeJs;

    const setup = await loadCheckpointSetup(dataDir, {});
    const checkpointer = new Checkpointer({ db: withTree.db, key: setup.key, config: setup.config, sink: directorySink(setup.config.dir), log: silentLog });
    const signings: number[] = [];
    for (let i = 0; i < 20; i++) {
      await commit(logs[0]!, 5_000 + i * PROBE_BATCH);
      const started = performance.now();
      await checkpointer.signDue(true);
      signings.push(performance.now() - started);
    }
    const signing = median(signings);

    const fillSeconds = await fillTree(big.db, TREE_LEAVES);
    const read = nodeReader(big.db);
    const indexes = Array.from({ length: PROOFS }, () => Math.floor(Math.random() * TREE_LEAVES));
    const root = await rootAt(TREE_LEAVES, read);
    let verified = 0;
    const inclusion = await timeEach(PROOFS, async (i) => {
      const proof = await inclusionProof(indexes[i]!, TREE_LEAVES, read);
      const leaf = (await read([{ level: 0, index: indexes[i]! }])).get(`0:${indexes[i]}`)!;
      if (verifyInclusion(leaf, indexes[i]!, TREE_LEAVES, proof, root)) verified++;
    });
    if (verified !== PROOFS) throw new Error(`${PROOFS - verified} of ${PROOFS} inclusion proofs at ${TREE_LEAVES} leaves did not verify`);
    const consistency = await timeEach(PROOFS, (i) => consistencyProof(1 + indexes[i]!, TREE_LEAVES, read));
    const { rows } = await big.db.query<{ size: string }>("SELECT pg_size_pretty(pg_total_relation_size('audit_tree_nodes')) AS size");
    const ratio = tree / alone;
    return [
      '## Provable audit log: tree and checkpoints',
      '',
      `PostgreSQL on 127.0.0.1, Node ${process.version}, ${availableParallelism()} cores, load ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before, ` +
        `${loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} after. Group commits of ${PROBE_BATCH} records × ${PROBE_SUBJECTS} subjects, two fresh logs taking turns, median of ${PROBES}.`,
      '',
      '| measure | value | target |',
      '|---|---:|---|',
      `| one group commit, chain + tree | ${ms(tree)} ms | |`,
      `| the same, tree nodes discarded (chain alone, the tree's JS still run) | ${ms(alone)} ms (tree costs ${ratio.toFixed(2)}×) | ≤ 1.10×: ${ratio <= 1.1 ? 'met' : 'not met'} |`,
      `| the tree's JS per batch (leaf hashes + appendLeaves) | ${ms(treeJs)} ms; chain alone less it: ${ms(aloneLessJs)} ms (${(tree / aloneLessJs).toFixed(2)}×) | ≤ 1.10×: ${tree <= 1.1 * aloneLessJs ? 'met' : 'not met'} |`,
      `| signing a checkpoint (read head, Ed25519, insert, O_EXCL file), off the request path | ${ms(signing)} ms | |`,
      `| tree of ${TREE_LEAVES.toLocaleString('en-US')} leaves stored (audit_tree_nodes ${rows[0]?.size}) | ${fillSeconds.toFixed(1)} s to fill | |`,
      `| inclusion proof at ${TREE_LEAVES.toLocaleString('en-US')} leaves (one read of stored nodes, verified), median of ${PROOFS} | ${ms(inclusion)} ms | |`,
      `| consistency proof from a random size to ${TREE_LEAVES.toLocaleString('en-US')}, median of ${PROOFS} | ${ms(consistency)} ms | |`,
      '',
    ].join('\n');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await Promise.all([withTree.drop(), chainAlone.drop(), big.drop()]);
  }
}
