import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectRetentionCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFileName, objectStoreConfigFrom, objectStoreSink } from '../../src/audit/provable/index.ts';
import { cutAuditTail } from '../support/audit.ts';
import { PROJECT_ROOT, startTestBroker } from '../support/broker.ts';
import { cliOutcome, keyholeCli } from '../support/cli.ts';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { CEPH_RGW_AVAILABLE, type ObjectStore, startObjectStore } from '../support/object-store.ts';
import { freePort } from '../support/ports.ts';

/** Waits for a condition the broker's background checkpointer makes true. */
async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in 15 s: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!CEPH_RGW_AVAILABLE)('audit checkpoints in an S3-compatible object store under object lock (a real Ceph RGW)', () => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await startObjectStore();
  }, 120_000);
  afterAll(async () => {
    await store?.stop();
  });

  const sinkAt = (url: string, env: Record<string, string> = {}) => objectStoreSink(objectStoreConfigFrom(url, { ...store.env, ...env }));
  const versionsOf = async (bucket: string) => (await store.client.send(new ListObjectVersionsCommand({ Bucket: bucket }))).Versions ?? [];

  it('is refused at the start when the bucket has no object lock, does not exist, or cannot be reached', async () => {
    const plain = await store.createBucket(false);
    await expect(sinkAt(`s3://${plain}/audit`).check()).rejects.toMatchObject({
      code: 'AUDIT_CHECKPOINT_SINK',
      message: expect.stringContaining(`s3://${plain}/audit/: the bucket has no object lock`),
    });
    await expect(sinkAt('s3://no-such-bucket-here/audit').check()).rejects.toMatchObject({ code: 'AUDIT_CHECKPOINT_SINK' });
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    await expect(sinkAt(`s3://${plain}/audit`, { KEYHOLE_CHECKPOINT_S3_ENDPOINT: nowhere }).check()).rejects.toMatchObject({
      code: 'AUDIT_CHECKPOINT_SINK',
      message: expect.stringContaining('checking the bucket failed'),
    });

    const t = await createPostgresTestDatabase();
    try {
      await expect(startTestBroker(t.db, { env: { ...store.env, KEYHOLE_CHECKPOINT_S3: `s3://${plain}/audit` } })).rejects.toThrow(/has no object lock/);
    } finally {
      await t.drop();
    }
  });

  it('locks each checkpoint in compliance mode for the retention set; no version of it can be deleted', async () => {
    const bucket = await store.createBucket(true);
    const sink = sinkAt(`s3://${bucket}/audit/checkpoints`, { KEYHOLE_CHECKPOINT_RETAIN_DAYS: '30' });
    await sink.check();
    const note = 'keyhole.local/audit\n7\nroot\n\n— a signature\n';
    await sink.append(7, note);
    await sink.append(7, note);
    await expect(sink.append(7, `${note} `)).rejects.toMatchObject({ code: 'AUDIT_CHECKPOINT_SINK', message: expect.stringContaining('never overwritten') });

    const versions = await versionsOf(bucket);
    const key = `audit/checkpoints/${checkpointFileName(7)}`;
    expect(versions.map(({ Key }) => Key)).toEqual([key]);
    const retention = (await store.client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }))).Retention;
    expect(retention?.Mode).toBe('COMPLIANCE');
    const days = (retention!.RetainUntilDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    await expect(store.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versions[0]!.VersionId }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    expect(await sink.read()).toEqual([{ source: `s3://${bucket}/${key} version ${versions[0]!.VersionId}`, note }]);
  });

  it('takes a broker\'s checkpoints; a cut-off tail stays caught though the newest checkpoint is "deleted" and an older one put over it', async () => {
    const t = await createPostgresTestDatabase();
    // The CLI afterwards reads the broker's keys from its data dir.
    const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-s3-'));
    try {
      await loadWorld(t.db);
      const bucket = await store.createBucket(true);
      const where = `s3://${bucket}/audit`;
      const kh = await startTestBroker(t.db, { dataDir, env: { ...store.env, KEYHOLE_CHECKPOINT_S3: where, KEYHOLE_CHECKPOINT_EVERY_RECORDS: '1' } });
      const sink = sinkAt(where);
      const keyhole = keyholeCli({ ...process.env, ...store.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: dataDir, KEYHOLE_ROOT: PROJECT_ROOT });
      try {
        const support = await kh.token('support-bot');
        for (const limit of [1, 2, 3]) {
          expect((await kh.graphql(support, `{ customers(limit: ${limit}) { id } }`)).status).toBe(200);
          await eventually(
            `checkpoint ${limit}`,
            () => sink.read(),
            (found) => found.some(({ source }) => source.includes(checkpointFileName(limit))),
          );
        }
      } finally {
        await kh.close();
      }
      // The object store replaced the directory: nothing was written beside the data.
      expect(existsSync(join(dataDir, 'checkpoints'))).toBe(false);
      expect((await keyhole('audit', 'verify', '--checkpoints', where)).stdout).toMatch(
        /checkpoints OK: 3 signed checkpoints match the log's tree of 3 records/,
      );

      // Whoever holds the database cuts off the newest record and the database's copy of its checkpoint, hides the
      // checkpoint's object behind a delete marker, and puts the checkpoint of size 2 at its name.
      await cutAuditTail(t.db, 1);
      await t.db.query('DELETE FROM audit_checkpoints_signed WHERE size = 3');
      const newest = `audit/${checkpointFileName(3)}`;
      const older = (await sink.read()).find(({ source }) => source.includes(checkpointFileName(2)))!.note;
      await store.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: newest }));
      await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: newest, Body: older }));

      const outcome = await cliOutcome(keyhole('audit', 'verify', '--checkpoints', where));
      expect(outcome.code).toBe(2);
      // Both versions under the newest name are read: the locked original still vouches for the removed record.
      expect(outcome.stderr).toMatch(/checkpoints FAILED: 2 fault\(s\) against 3 valid checkpoint\(s\); the log's tree holds 2 records/);
      expect(outcome.stderr).toMatch(/truncated: .*00000000000000000003\.checkpoint version \S+ vouches for 3 records but the log holds 2/);
      expect(outcome.stderr).toMatch(
        /replayed: .*00000000000000000003\.checkpoint version \S+ should hold the checkpoint of size 3 but holds the one of size 2/,
      );
    } finally {
      await t.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
