import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type ObjectVersion,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type CheckpointSink, type CheckpointSource, checkpointFileName, sizeInCheckpointName } from './checkpoint-sink.ts';
import { ProvableAuditError } from './errors.ts';

export type ObjectLockMode = 'COMPLIANCE' | 'GOVERNANCE';

/** An S3-compatible bucket (and key prefix) that keeps checkpoints under object lock. */
export interface ObjectStoreConfig {
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph RGW, …); AWS's own when absent. */
  endpoint?: string;
  region: string;
  /** How long each checkpoint object is locked against deletion and overwrite. */
  retainDays: number;
  /** COMPLIANCE: nobody, the bucket's owner included, can shorten it; GOVERNANCE: holders of a bypass permission can. */
  lockMode: ObjectLockMode;
  /** Else the AWS SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export const OBJECT_STORE_SCHEME = 's3://';

/** `s3://bucket/some/prefix` as bucket and prefix, or null for anything that is not such a URL. */
export function parseObjectStoreUrl(url: string): { bucket: string; prefix: string } | null {
  if (!url.startsWith(OBJECT_STORE_SCHEME)) return null;
  const [bucket = '', ...path] = url.slice(OBJECT_STORE_SCHEME.length).split('/');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`"${url}" does not name an S3 bucket (s3://bucket/prefix)`);
  const prefix = path.filter((part) => part !== '').join('/');
  return { bucket, prefix: prefix === '' ? '' : `${prefix}/` };
}

/** The SDK's status code or error name, for the few answers the sink tells apart. */
const s3Status = (error: unknown): { name: string; status: number | undefined } => ({
  name: (error as Error).name,
  status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
});

const READ_CONCURRENCY = 8;

/**
 * One object per checkpoint, named by its size, written under object lock so that until its retention ends nobody
 * (in COMPLIANCE mode, not even the bucket's owner) can delete or overwrite it. A bucket with object lock keeps
 * versions: a DELETE only hides an object behind a delete marker, a second PUT adds a version. So `read` returns
 * every version, and a hidden or shadowed checkpoint still counts against the log.
 */
export function objectStoreSink(config: ObjectStoreConfig): CheckpointSink {
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // Checksums only where the operation requires one: trailing checksums are not spoken by every S3-compatible store.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const { bucket, prefix } = config;
  const where = `${OBJECT_STORE_SCHEME}${bucket}/${prefix}`;
  const failure = (doing: string, error: unknown) =>
    new ProvableAuditError('AUDIT_CHECKPOINT_SINK', `${where}: ${doing} failed: ${s3Status(error).name}: ${(error as Error).message}`);

  const noteAt = async (key: string, versionId?: string): Promise<string | null> => {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      return (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (s3Status(error).name === 'NoSuchKey' || s3Status(error).status === 404) return null;
      throw failure(`reading ${key}`, error);
    }
  };

  /** Every version of every checkpoint object right under the prefix (delete markers aside), by name, oldest first. */
  const checkpointVersions = async (): Promise<ObjectVersion[]> => {
    const versions: ObjectVersion[] = [];
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      let page: ListObjectVersionsCommandOutput;
      try {
        page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...markers }));
      } catch (error) {
        throw failure('listing checkpoints', error);
      }
      const named = (key: string | undefined) => key !== undefined && sizeInCheckpointName(key) !== null && !key.slice(prefix.length).includes('/');
      versions.push(...(page.Versions ?? []).filter(({ Key }) => named(Key)));
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    return versions.sort((a, b) => a.Key!.localeCompare(b.Key!) || (a.LastModified?.getTime() ?? 0) - (b.LastModified?.getTime() ?? 0));
  };

  const refuseDifferent = (key: string, size: number) =>
    new ProvableAuditError(
      'AUDIT_CHECKPOINT_SINK',
      `${where}${key.slice(prefix.length)} already holds a different checkpoint for size ${size}: it is never overwritten`,
    );

  return {
    where,
    async check() {
      let enabled: string | undefined;
      try {
        enabled = (await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration?.ObjectLockEnabled;
      } catch (error) {
        if (s3Status(error).name !== 'ObjectLockConfigurationNotFoundError') throw failure('checking the bucket', error);
      }
      if (enabled !== 'Enabled') {
        throw new ProvableAuditError(
          'AUDIT_CHECKPOINT_SINK',
          `${where}: the bucket has no object lock, so a checkpoint there could be deleted or overwritten; create the bucket with object lock enabled`,
        );
      }
    },
    async append(size, note) {
      const key = prefix + checkpointFileName(size);
      const existing = await noteAt(key);
      if (existing === note) return;
      if (existing !== null) throw refuseDifferent(key, size);
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: note,
            ContentType: 'text/plain; charset=utf-8',
            // Object lock requires an integrity check on the upload.
            ContentMD5: createHash('md5').update(note).digest('base64'),
            ObjectLockMode: config.lockMode,
            ObjectLockRetainUntilDate: new Date(Date.now() + config.retainDays * 86_400_000),
            // Stores that honour it refuse a second writer outright; the rest keep both as versions, which `read` returns.
            IfNoneMatch: '*',
          }),
        );
      } catch (error) {
        if (s3Status(error).status !== 412) throw failure(`writing ${key}`, error);
        if ((await noteAt(key)) !== note) throw refuseDifferent(key, size);
      }
    },
    async read() {
      const versions = await checkpointVersions();
      const found: CheckpointSource[] = [];
      for (let i = 0; i < versions.length; i += READ_CONCURRENCY) {
        const batch = versions.slice(i, i + READ_CONCURRENCY);
        const notes = await Promise.all(batch.map(({ Key, VersionId }) => noteAt(Key!, VersionId)));
        batch.forEach(({ Key, VersionId }, j) => {
          found.push({ source: `${OBJECT_STORE_SCHEME}${bucket}/${Key} version ${VersionId}`, note: notes[j] ?? '' });
        });
      }
      return found;
    },
  };
}
