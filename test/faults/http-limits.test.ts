import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { type BrokerProcess, startBrokerProcess, waitFor } from './broker-process.ts';
import { ROWS_QUERY } from './load.ts';

const TEN_MB = 10 * 1024 * 1024;

/** POSTs `bytes` of JSON-ish body in 64 KiB writes, declared or chunked; resolves with the answer, whenever it comes. */
function postLarge(base: string, token: string, bytes: number, declared: boolean): Promise<{ status: number; requestId: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/graphql', base);
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(declared ? { 'content-length': bytes } : {}) },
    });
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          requestId: response.headers['x-request-id'] as string | undefined,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        }),
      );
    });
    // The broker answers and closes before the upload ends: the rest of it fails to send, as it should.
    req.on('error', (error) => setTimeout(() => reject(error), 1000));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

describe('what one client can hold of a broker', () => {
  let t: TestDatabase;
  let dataDir: string;
  let broker: BrokerProcess;
  let token: string;

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-limits-'));
    broker = await startBrokerProcess({ DATABASE_URL: t.url!, KEYHOLE_HEADERS_TIMEOUT_MS: '2000', KEYHOLE_KEEP_ALIVE_TIMEOUT_MS: '1000' }, dataDir);
    token = await broker.token('support-bot');
  });
  afterAll(async () => {
    broker?.child.kill('SIGKILL');
    await t?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses 10 MB bodies (declared or chunked) with 413 PAYLOAD_TOO_LARGE, recorded, and memory stays at its baseline', async () => {
    const baseline = await rssMb(broker.child.pid!);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => postLarge(broker.base, token, TEN_MB, i % 2 === 0)));
    for (const answer of answers) {
      expect(answer.status).toBe(413);
      expect(answer.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      expect(answer.body.extensions.requestId).toBe(answer.requestId);
    }
    const { rows } = await t.db.query<{ request_id: string }>("SELECT request_id FROM audit_log WHERE code = 'PAYLOAD_TOO_LARGE'");
    expect(rows.map((row) => row.request_id).sort()).toEqual(answers.map((answer) => answer.requestId).sort());
    const after = await rssMb(broker.child.pid!);
    console.log(`[fault] ten 10 MB bodies at once: RSS ${baseline.toFixed(0)} MB before, ${after.toFixed(0)} MB after`);
    // Each refused after at most 1 MB read (chunked) or none (declared): far from the 100 MB sent.
    expect(after - baseline).toBeLessThan(40);
  });

  it('serves others while 300 idle sockets are open, and closes those sockets at the headers timeout', async () => {
    const closed: number[] = [];
    const sockets: Socket[] = await Promise.all(
      Array.from(
        { length: 300 },
        (_, i) =>
          new Promise<Socket>((resolve) => {
            const socket = connect(Number(new URL(broker.base).port), '127.0.0.1', () => resolve(socket));
            socket.on('close', () => closed.push(i));
            socket.on('error', () => undefined);
          }),
      ),
    );
    // A slow-loris client: headers trickling in, never finished.
    const loris = connect(Number(new URL(broker.base).port), '127.0.0.1');
    loris.on('error', () => undefined);
    loris.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => loris.write('X-A: b\r\n'), 300);
    let lorisClosed = false;
    loris.on('close', () => (lorisClosed = true));
    try {
      const served = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${broker.base}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: ROWS_QUERY }),
          }).then((response) => response.status),
        ),
      );
      expect(served.every((status) => status === 200)).toBe(true);
      const ms = await waitFor(async () => closed.length === sockets.length && lorisClosed, 10_000, 'idle sockets closed');
      console.log(
        `[fault] 300 idle sockets + 1 slow-loris: 20 of 20 others served meanwhile; all closed by the broker within ${Math.round(ms)} ms of being served`,
      );
    } finally {
      clearInterval(trickle);
      for (const socket of sockets) socket.destroy();
      loris.destroy();
    }
  });
});
