import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.ts';

const run = promisify(execFile);

/** Debian's Ceph daemons (packages ceph-mon, ceph-osd, radosgw): suites that need them are skipped when absent. */
export const CEPH_RGW_AVAILABLE = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'].every((bin) => existsSync(`/usr/bin/${bin}`));

/** A real S3-compatible object store with object lock: a one-monitor, one-OSD Ceph cluster in memory, and its gateway. */
export interface ObjectStore {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The broker's (and CLI's) settings for this store. */
  env: Record<string, string>;
  client: S3Client;
  createBucket(objectLock: boolean): Promise<string>;
  stop(): Promise<void>;
}

/** A Ceph configuration for one throwaway cluster under `dir`: no auth, one replica, objects held in memory. */
const cephConf = (dir: string, fsid: string, monPort: number, rgwPort: number) => `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = 268435456
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
mon data = ${dir}/mon/$id
osd data = ${dir}/osd/$id
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
`;

async function until(what: string, deadlineMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`the test object store: ${what} did not come up in ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Starts the cluster (about 10 s) with a user of its own; `stop` ends every daemon and removes its files. */
export async function startObjectStore(): Promise<ObjectStore> {
  const dir = await mkdtemp(join(tmpdir(), 'keyhole-rgw-'));
  const daemons: ChildProcess[] = [];
  const stop = async () => {
    for (const daemon of daemons) daemon.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(['mon/a', 'osd/0', 'run', 'log'].map((sub) => mkdir(join(dir, sub), { recursive: true })));
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'ceph.conf');
    const fsid = randomUUID();
    await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort));
    const ceph = (bin: string, ...args: string[]) => run(bin, ['-c', conf, ...args], { timeout: 30_000 });
    const daemon = (bin: string, ...args: string[]) => {
      daemons.push(spawn(bin, ['-c', conf, '-f', ...args], { stdio: 'ignore' }));
    };
    await run('ceph-authtool', ['--create-keyring', join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await ceph('ceph-mon', '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'));
    daemon('ceph-mon', '-i', 'a');
    // The OSD's own uuid, given to both: an OSD made without one may boot under another and is then refused.
    const osdUuid = randomUUID();
    const osd = (await ceph('ceph', '--connect-timeout', '20', 'osd', 'new', osdUuid)).stdout.trim();
    await ceph('ceph-osd', '-i', osd, '--mkfs', '--osd-uuid', osdUuid);
    await ceph('ceph', 'osd', 'crush', 'add', `osd.${osd}`, '1', 'host=localhost', 'root=default');
    daemon('ceph-osd', '-i', osd);
    daemon('radosgw', '-n', 'client.rgw');
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await until('the gateway', 60_000, async () => (await fetch(endpoint)).ok);
    const credentials = { accessKeyId: `kh${randomBytes(8).toString('hex')}`, secretAccessKey: randomBytes(24).toString('hex') };
    await ceph(
      'radosgw-admin',
      '-n',
      'client.rgw',
      'user',
      'create',
      '--uid',
      'keyhole',
      '--display-name',
      'keyhole',
      '--access-key',
      credentials.accessKeyId,
      '--secret',
      credentials.secretAccessKey,
    );
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
    let buckets = 0;
    return {
      endpoint,
      credentials,
      env: { KEYHOLE_CHECKPOINT_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      client,
      async createBucket(objectLock) {
        const bucket = `checkpoints-${++buckets}-${randomBytes(4).toString('hex')}`;
        await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: objectLock }));
        return bucket;
      },
      async stop() {
        client.destroy();
        await stop();
      },
    };
  } catch (error) {
    const logs = await readdir(join(dir, 'log')).catch(() => []);
    const tails = await Promise.all(logs.map(async (name) => `${name}:\n${(await readFile(join(dir, 'log', name), 'utf8')).split('\n').slice(-8).join('\n')}`));
    await stop();
    throw new Error(`${(error as Error).message}\n${tails.join('\n')}`);
  }
}
