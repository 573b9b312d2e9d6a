import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendAuditRecords,
  type AuditRecord,
  auditRecordHash,
  type AuditRow,
  planPrune,
  pruneAuditLog,
  recordFromRow,
  retentionPolicy,
  verifyAuditChain,
} from '../../src/audit/index.ts';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';
import { PROJECT_ROOT, startTestBroker } from '../support/broker.ts';
import { appendLeaves, checkpointBody, EMPTY_FRONTIER, ed25519NoteKeys, frontierRoot, noteVerifierFromKey, signNote } from '../../src/audit/merkle/index.ts';
import {
  auditLeafHash,
  checkInclusionProof,
  checkpointFileName,
  Checkpointer,
  type CheckpointSetup,
  directorySink,
  ensureAuditTree,
  loadCheckpointSetup,
  openCheckpoint,
  proveConsistency,
  proveRecord,
  verifyAgainstCheckpoints,
} from '../../src/audit/provable/index.ts';
import { CHECKPOINT_KEY_PATH } from '../../src/http/checkpoint-key-route.ts';
import { silentLog } from '../../src/log.ts';
import { type Db, migrate } from '../../src/sql/index.ts';
import { cutAuditTail, emptyAuditLog, fullAuditDraft } from '../support/audit.ts';
import { keyholeCli, withCliWorld } from '../support/cli.ts';
import { createPostgresTestDatabase, ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { useTwoBrokers } from '../support/world.ts';
import { officerHandlerOf, officerQuery } from './officer-fixtures.ts';

/** Group commits of these sizes, each followed by a checkpoint: checkpoints at 1, 4, 9 and 12 records. */
const BATCHES = [1, 3, 5, 3];
const SIZES = [1, 4, 9, 12];

async function records(db: Db): Promise<AuditRecord[]> {
  return (await db.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq')).rows.map(recordFromRow);
}

/** The root of a tree built afresh from the records as stored, nothing read from the stored tree. */
const recomputedRoot = (all: readonly AuditRecord[]) => frontierRoot(appendLeaves(EMPTY_FRONTIER, all.map(auditLeafHash)).frontier);

describe.each(ENGINES)('the provable audit log on $engine', ({ create }) => {
  let t: TestDatabase;
  let dataDir: string;
  let setup: CheckpointSetup;
  const key = randomBytes(32);
  const verifier = () => noteVerifierFromKey(setup.key.verifierKey);
  const checkpointSources = () => directorySink(setup.config.dir).read();
  const verifyCheckpoints = async () => verifyAgainstCheckpoints(t.db, await checkpointSources(), verifier(), setup.config.origin, { sink: setup.config.dir });
  const problems = async () => (await verifyCheckpoints()).faults.map((fault) => fault.problem);

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
  });
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-provable-'));
    setup = await loadCheckpointSetup(dataDir, {});
    await emptyAuditLog(t.db);
    const checkpointer = new Checkpointer({ db: t.db, key: setup.key, config: setup.config, sink: directorySink(setup.config.dir), log: silentLog });
    let n = 0;
    for (const size of BATCHES) {
      const drafts = Array.from({ length: size }, () => fullAuditDraft(++n, n % 2 ? 'DE' : 'SG'));
      await t.db.transaction((tx) => appendAuditRecords(tx, key, drafts));
      await checkpointer.signDue(true);
    }
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('extends the tree with every group commit: the stored tree and each checkpoint have the root recomputed from the records', async () => {
    const all = await records(t.db);
    const notes = await directorySink(setup.config.dir).read();
    expect(notes.map(({ note }) => openCheckpoint(note, verifier()).size)).toEqual(SIZES);
    const latest = openCheckpoint(notes.at(-1)!.note, verifier());
    expect(Buffer.from(latest.root).equals(recomputedRoot(all))).toBe(true);
    expect(Buffer.from(frontierRoot(await ensureAuditTree(t.db))).equals(recomputedRoot(all))).toBe(true);
    const stored = await t.db.query<{ size: number; note: string }>('SELECT size, note FROM audit_checkpoints_signed ORDER BY size');
    expect(stored.rows.map((row) => [Number(row.size), row.note])).toEqual(notes.map(({ note }) => [openCheckpoint(note, verifier()).size, note]));
    expect(latest.extensions?.[0]).toMatch(/^time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await verifyCheckpoints()).toMatchObject({ ok: true, checkpoints: 4, treeSize: 12 });
  });

  it.each([1, 3, 12])('detects the newest %i record(s) cut off, though the chain alone still verifies', async (count) => {
    await cutAuditTail(t.db, count);
    expect(await verifyAuditChain(t.db, key)).toMatchObject({ ok: true, headSeq: 12 - count });
    const result = await verifyCheckpoints();
    expect(result.ok).toBe(false);
    expect(result.treeSize).toBe(12 - count);
    // Every checkpoint beyond what is left says so.
    expect(result.faults.map((fault) => [fault.problem, fault.size])).toEqual(SIZES.filter((size) => size > 12 - count).map((size) => ['truncated', size]));
  });

  it('detects a record rewritten with the HMAC chain recomputed under the audit key', async () => {
    const all = await records(t.db);
    let prevHash = all[4]!.prevHash;
    for (const record of all.slice(4)) {
      const { hash: _old, ...fields } = record;
      const rewritten = { ...fields, prevHash, reason: record.seq === 5 ? 'nothing to see' : record.reason };
      const hash = auditRecordHash(key, rewritten);
      await t.db.query('UPDATE audit_log SET reason = $2, prev_hash = $3, hash = $4 WHERE seq = $1', [record.seq, rewritten.reason, prevHash, hash]);
      prevHash = hash;
    }
    await t.db.query('UPDATE audit_head SET hash = $1', [prevHash]);
    expect((await verifyAuditChain(t.db, key)).ok).toBe(true);
    // The checkpoint at 4 predates record 5 and still holds; 9 and 12 do not.
    expect((await verifyCheckpoints()).faults.map((fault) => [fault.problem, fault.size])).toEqual([
      ['rewritten', 9],
      ['rewritten', 12],
    ]);
  });

  it('detects a checkpoint signed with another key, and an older checkpoint copied over a newer one', async () => {
    const { signer } = ed25519NoteKeys(setup.config.origin, generateKeyPairSync('ed25519').privateKey);
    const latest = openCheckpoint((await directorySink(setup.config.dir).read()).at(-1)!.note, verifier());
    const forged = join(setup.config.dir, checkpointFileName(20));
    await writeFile(forged, signNote(checkpointBody({ ...latest, size: 20 }), [signer]));
    expect(await problems()).toEqual(['forged']);
    await unlink(forged);

    const newest = join(setup.config.dir, checkpointFileName(12));
    await unlink(newest);
    await writeFile(newest, await readFile(join(setup.config.dir, checkpointFileName(9)), 'utf8'));
    expect(await problems()).toEqual(['replayed']);
  });

  it('appends, from any broker, a checkpoint signed by one that lost its sink (or stopped) before appending it', async () => {
    const lost = { ...directorySink(setup.config.dir), append: () => Promise.reject(new Error('the sink is unreachable')) };
    const first = new Checkpointer({ db: t.db, key: setup.key, config: setup.config, sink: lost, log: silentLog });
    await t.db.transaction((tx) => appendAuditRecords(tx, key, [fullAuditDraft(13)]));
    await expect(first.signDue(true)).rejects.toThrow('the sink is unreachable');
    // Signed but never appended is not missing from the sink: it is still owed to it.
    expect(await problems()).toEqual([]);
    const second = new Checkpointer({ db: t.db, key: setup.key, config: setup.config, sink: directorySink(setup.config.dir), log: silentLog });
    expect(await second.signDue()).toBeNull();
    expect((await checkpointSources()).map(({ note }) => openCheckpoint(note, verifier()).size)).toEqual([...SIZES, 13]);
    expect(await verifyCheckpoints()).toMatchObject({ ok: true, checkpoints: 5 });
  });

  it('names a checkpoint deleted from the directory the database says it was appended to', async () => {
    await unlink(join(setup.config.dir, checkpointFileName(9)));
    expect((await verifyCheckpoints()).faults.map((fault) => [fault.problem, fault.size])).toEqual([['missing', 9]]);
    // A copy holding some of the checkpoints (say, a regulator's) is not the sink: none is missing from it.
    expect(await verifyAgainstCheckpoints(t.db, await checkpointSources(), verifier(), setup.config.origin)).toMatchObject({ ok: true, checkpoints: 3 });
    const copy = await verifyAgainstCheckpoints(t.db, await checkpointSources(), verifier(), setup.config.origin, { sink: join(dataDir, 'copy') });
    expect(copy).toMatchObject({ ok: true, checkpoints: 3 });
  });

  it('refuses to overwrite a checkpoint file with a different one', async () => {
    const sink = directorySink(setup.config.dir);
    const note = await readFile(join(setup.config.dir, checkpointFileName(4)), 'utf8');
    await sink.append(4, note);
    await expect(sink.append(4, note.replace(/\n\n/, '\n\n '))).rejects.toMatchObject({ code: 'AUDIT_CHECKPOINT_SINK' });
  });

  it('proves every record against the latest checkpoint, checkable with the public key only', async () => {
    const offline = noteVerifierFromKey(setup.key.verifierKey);
    for (let seq = 1; seq <= 12; seq++) {
      const proof = JSON.parse(JSON.stringify(await proveRecord(t.db, seq)));
      expect(checkInclusionProof(proof, offline)).toMatchObject({ size: 12 });
      const altered = { ...proof, record: { ...proof.record, rowCount: proof.record.rowCount + 1 } };
      expect(() => checkInclusionProof(altered, offline)).toThrow(/not in the log the checkpoint signed/);
    }
    const other = ed25519NoteKeys(setup.config.origin, generateKeyPairSync('ed25519').privateKey).verifierKey;
    const proof = await proveRecord(t.db, 3);
    expect(() => checkInclusionProof(proof, noteVerifierFromKey(other))).toThrow(/not signed by the checkpoint key/);
  });

  it('proves every later checkpoint consistent with every earlier one', async () => {
    const heads = (await directorySink(setup.config.dir).read()).map(({ note }) => openCheckpoint(note, verifier()));
    for (const [i, old] of heads.entries()) {
      for (const later of heads.slice(i + 1)) expect((await proveConsistency(t.db, old, later)).verified).toBe(true);
    }
    const wrong = { ...heads[1]!, root: new Uint8Array(32) };
    expect((await proveConsistency(t.db, wrong, heads[3]!)).verified).toBe(false);
  });

  it('says a pruned record can no longer be proved, and keeps proving and checking the rest', async () => {
    const policy = retentionPolicy(await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions')));
    const plan = await planPrune(t.db, { before: new Date('2026-01-05T00:00:00Z'), policy });
    expect(await pruneAuditLog(t.db, key, plan, { actor: { kind: 'cli', id: 'test' }, force: true })).toMatchObject({ pruned: 4, auditSeq: 13 });
    await expect(proveRecord(t.db, 2)).rejects.toMatchObject({ code: 'AUDIT_RECORD_PRUNED' });
    expect(checkInclusionProof(await proveRecord(t.db, 7), verifier())).toMatchObject({ size: 12 });
    expect(await verifyCheckpoints()).toMatchObject({ ok: true, checkpoints: 4, treeSize: 13 });
    await cutAuditTail(t.db, 9);
    expect((await verifyCheckpoints()).faults.map((fault) => [fault.problem, fault.size])).toEqual([
      ['truncated', 9],
      ['truncated', 12],
    ]);
  });

  it('builds the tree of a log written before it existed from its records', async () => {
    const root = recomputedRoot(await records(t.db));
    await t.db.exec("TRUNCATE audit_tree_nodes; UPDATE audit_head SET tree_size = 0, tree_frontier = '[]'");
    expect(Buffer.from(frontierRoot(await ensureAuditTree(t.db))).equals(root)).toBe(true);
    expect(checkInclusionProof(await proveRecord(t.db, 5), verifier())).toMatchObject({ size: 12 });
  });
});

describe('a broker signing checkpoints in the background', () => {
  it('signs once every N records and appends the note to its checkpoint directory', async () => {
    const t = await createPostgresTestDatabase();
    try {
      await loadWorld(t.db);
      const kh = await startTestBroker(t.db, { env: { KEYHOLE_CHECKPOINT_EVERY_RECORDS: '2' } });
      try {
        const support = await kh.token('support-bot');
        for (const limit of [1, 2]) await kh.graphql(support, `{ customers(limit: ${limit}) { id } }`);
        const setup = await loadCheckpointSetup(kh.dataDir, {});
        const deadline = Date.now() + 10_000;
        let notes = await directorySink(setup.config.dir)
          .read()
          .catch(() => []);
        while (notes.length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          notes = await directorySink(setup.config.dir)
            .read()
            .catch(() => []);
        }
        expect(notes.map(({ note }) => openCheckpoint(note, noteVerifierFromKey(setup.key.verifierKey)).size)).toEqual([2]);
      } finally {
        await kh.close();
      }
    } finally {
      await t.drop();
    }
  });
});

describe('one tree from two brokers on one PostgreSQL', () => {
  const world = useTwoBrokers();

  it('extends one tree with the group commits of both, equal to the tree of all their records', async () => {
    const tokens = await Promise.all(world.brokers.map((kh) => kh.token('support-bot')));
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => world.brokers[i % 2]!.graphql(tokens[i % 2]!, `{ customers(limit: ${1 + (i % 4)}) { id } }`)),
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const all = await records(world.t.db);
    expect(all).toHaveLength(40);
    const tree = await ensureAuditTree(world.t.db);
    expect(tree.size).toBe(40);
    expect(Buffer.from(frontierRoot(tree)).equals(recomputedRoot(all))).toBe(true);
  });
});

describe('keyhole audit verify --checkpoints, prove, check-proof, consistency (CLI, real PostgreSQL)', () => {
  it('verifies, proves offline with the public key only, proves consistency, and catches a cut-off tail', async () => {
    await withCliWorld(async ({ t, kh, keyhole }) => {
      const published = await kh.broker.fetch(new Request(`http://keyhole.test${CHECKPOINT_KEY_PATH}`));
      const vkey = (await published.text()).trim();
      const setup = await loadCheckpointSetup(kh.dataDir, {});
      expect(vkey).toBe(setup.key.verifierKey);
      const checkpointer = new Checkpointer({ db: t.db, key: setup.key, config: setup.config, sink: directorySink(setup.config.dir), log: silentLog });
      const support = await kh.token('support-bot');
      for (const limit of [1, 2, 3]) {
        await kh.graphql(support, `{ customers(limit: ${limit}) { id } }`);
        await checkpointer.signDue(true);
      }
      const dir = setup.config.dir;
      expect((await keyhole('audit', 'verify', '--checkpoints', dir)).stdout).toMatch(/checkpoints OK: 3 signed checkpoints match the log's tree of 3 records/);
      // The same checkpoints from a URL serving them as a JSON array of notes (a mirror of the directory).
      const notes = JSON.stringify((await directorySink(dir).read()).map(({ note }) => note));
      const mirror = createServer((_request, response) => response.end(notes));
      await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/checkpoints.json`;
        expect((await keyhole('audit', 'verify', '--checkpoints', url)).stdout).toMatch(/checkpoints OK: 3 signed checkpoints/);
      } finally {
        mirror.close();
      }

      const proofFile = join(kh.dataDir, 'proof.json');
      await keyhole('audit', 'prove', '2', '--out', proofFile);
      // Offline: no database, no data dir, only the proof and the public key.
      const offline = keyholeCli({ PATH: process.env.PATH, HOME: process.env.HOME, KEYHOLE_DATA_DIR: join(kh.dataDir, 'none') });
      expect((await offline('audit', 'check-proof', proofFile, '--public-key', vkey)).stdout).toMatch(
        /^proof OK: record 2 is leaf 1 of the 3-record log "keyhole.local\/audit"/,
      );

      const stranger = ed25519NoteKeys('keyhole.local/audit', generateKeyPairSync('ed25519').privateKey).verifierKey;
      await expect(offline('audit', 'check-proof', proofFile, '--public-key', stranger)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('AUDIT_CHECKPOINT_INVALID: the checkpoint is not signed by the checkpoint key'),
      });
      await expect(keyhole('audit', 'prove', '999')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('AUDIT_RECORD_UNKNOWN') });

      const [first, , third] = (await directorySink(dir).read()).map(({ source }) => source);
      const consistency = JSON.parse((await keyhole('audit', 'consistency', first!, third!)).stdout);
      expect(consistency).toMatchObject({ size1: 1, size2: 3, verified: true });

      const dpo = await kh.token('dpo');
      const officer = (query: string) => officerQuery(officerHandlerOf(kh), dpo, query);
      const proved = (await officer('{ auditProof(seq: 2) { seq leafIndex treeSize document } auditConsistency(size1: 1, size2: 3) { verified } }')).body;
      expect(proved.data).toMatchObject({ auditProof: { seq: 2, leafIndex: 1, treeSize: 3 }, auditConsistency: { verified: true } });
      expect(checkInclusionProof(proved.data!.auditProof.document, noteVerifierFromKey(vkey))).toMatchObject({ size: 3 });
      const unknown = (await officer('{ auditProof(seq: 999) { seq } }')).body.errors;
      expect(unknown?.[0]?.extensions).toMatchObject({ code: 'INVALID_ARGUMENT', reason: 'AUDIT_RECORD_UNKNOWN' });
      const audited = await t.db.query<{ actor_kind: string; details: Record<string, unknown> }>(
        'SELECT actor_kind, details FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      expect(audited.rows[0]).toMatchObject({ actor_kind: 'officer' });

      // Everything after the checkpoint at 3 (the officers' records) and record 3 itself.
      const head = Number((await t.db.query<{ seq: number }>('SELECT seq FROM audit_head')).rows[0]!.seq);
      await cutAuditTail(t.db, head - 2);
      await expect(keyhole('audit', 'verify', '--checkpoints', dir)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/truncated: .* vouches for 3 records but the log holds 2/),
      });
      // Deleting that checkpoint too hides the cut from the directory, not from the database's list of what went there.
      await unlink(join(dir, checkpointFileName(3)));
      await expect(keyhole('audit', 'verify', '--checkpoints', dir)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/missing: .*the checkpoint of size 3 was appended to .* and is no longer there/),
      });
    });
  });
});
