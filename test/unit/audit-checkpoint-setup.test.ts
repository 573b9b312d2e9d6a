import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noteVerifierFromKey, openNote, signNote } from '../../src/audit/merkle/index.ts';
import { checkpointConfigFrom, checkpointDue, checkpointSinkOf, loadCheckpointKey, objectStoreConfigFrom } from '../../src/audit/provable/index.ts';

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

describe('checkpoint settings and key', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-checkpoint-key-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is due every N records or T seconds after the latest checkpoint, never for a tree that did not grow', () => {
    const config = { everyRecords: 100, everySeconds: 60 };
    const at = new Date('2026-12-06T19:00:00Z');
    const later = (seconds: number) => new Date(at.getTime() + seconds * 1000);
    expect(checkpointDue(config, 150, { size: 50, at }, later(1))).toBe(true);
    expect(checkpointDue(config, 149, { size: 50, at }, later(1))).toBe(false);
    expect(checkpointDue(config, 51, { size: 50, at }, later(60))).toBe(true);
    expect(checkpointDue(config, 50, { size: 50, at }, later(3600))).toBe(false);
  });

  it('reads its settings from the environment, refusing nonsense', () => {
    expect(checkpointConfigFrom(dataDir, {})).toEqual({
      origin: 'keyhole.local/audit',
      everyRecords: 1000,
      everySeconds: 60,
      dir: join(dataDir, 'checkpoints'),
      objectStore: null,
    });
    expect(() => checkpointConfigFrom(dataDir, { KEYHOLE_CHECKPOINT_EVERY_RECORDS: '0' })).toThrow(/positive whole number/);
    expect(() => checkpointConfigFrom(dataDir, { KEYHOLE_CHECKPOINT_ORIGIN: 'two words' })).toThrow(/no space/);
  });

  it('takes an object store as the sink, with its endpoint, region, lock and credentials, refusing nonsense', () => {
    const config = checkpointConfigFrom(dataDir, {
      KEYHOLE_CHECKPOINT_S3: 's3://audit-checkpoints/prod//eu/',
      KEYHOLE_CHECKPOINT_S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.objectStore).toEqual({
      bucket: 'audit-checkpoints',
      prefix: 'prod/eu/',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-central-1',
      retainDays: 2557,
      lockMode: 'COMPLIANCE',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(checkpointSinkOf(config).where).toBe('s3://audit-checkpoints/prod/eu/');
    expect(checkpointSinkOf({ ...config, objectStore: null }).where).toBe(join(dataDir, 'checkpoints'));
    // Without keys in the environment the SDK's own chain (profile, instance role) finds them.
    const bare = objectStoreConfigFrom('s3://audit-checkpoints', { KEYHOLE_CHECKPOINT_LOCK_MODE: 'governance', KEYHOLE_CHECKPOINT_RETAIN_DAYS: '30' });
    expect(bare).toEqual({ bucket: 'audit-checkpoints', prefix: '', endpoint: undefined, region: 'us-east-1', retainDays: 30, lockMode: 'GOVERNANCE' });
    expect(() => objectStoreConfigFrom('s3://A_Bucket/x', {})).toThrow(/does not name an S3 bucket/);
    expect(() => objectStoreConfigFrom('/var/checkpoints', {})).toThrow(/not an s3:\/\/bucket\/prefix URL/);
    expect(() => objectStoreConfigFrom('s3://bucket', { KEYHOLE_CHECKPOINT_LOCK_MODE: 'LEGAL_HOLD' })).toThrow(/COMPLIANCE or GOVERNANCE/);
    expect(() => objectStoreConfigFrom('s3://bucket', { KEYHOLE_CHECKPOINT_RETAIN_DAYS: '0' })).toThrow(/positive whole number/);
    expect(() => objectStoreConfigFrom('s3://bucket', { KEYHOLE_CHECKPOINT_S3_ENDPOINT: 'minio:9000' })).toThrow(/must be a URL/);
  });

  it('makes a development key once in the data dir and signs notes its published verifier key checks', async () => {
    const made = await loadCheckpointKey(dataDir, 'keyhole.local/audit', {});
    const again = await loadCheckpointKey(dataDir, 'keyhole.local/audit', {});
    expect(again.verifierKey).toBe(made.verifierKey);
    expect(await readFile(join(dataDir, 'checkpoint-key.pem'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    const note = signNote('keyhole.local/audit\n1\nAAAA\n', [made.signer]);
    expect(openNote(note, [noteVerifierFromKey(made.verifierKey)]).verifiedBy).toEqual(['keyhole.local/audit']);
  });

  it('takes KEYHOLE_CHECKPOINT_PRIVATE_KEY, and refuses none under production, the token key, or a key that is not Ed25519', async () => {
    const key = pem();
    expect((await loadCheckpointKey(dataDir, 'o', { KEYHOLE_CHECKPOINT_PRIVATE_KEY: key, NODE_ENV: 'production' })).source).toBe(
      'KEYHOLE_CHECKPOINT_PRIVATE_KEY',
    );
    await expect(loadCheckpointKey(dataDir, 'o', { NODE_ENV: 'production' })).rejects.toMatchObject({ code: 'AUDIT_CHECKPOINT_KEY_MISSING' });
    await expect(loadCheckpointKey(dataDir, 'o', { KEYHOLE_CHECKPOINT_PRIVATE_KEY: key, KEYHOLE_TOKEN_PRIVATE_KEY: key })).rejects.toThrow(/is the token key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expect(loadCheckpointKey(dataDir, 'o', { KEYHOLE_CHECKPOINT_PRIVATE_KEY: rsa })).rejects.toThrow(/must be Ed25519/);
  });
});
