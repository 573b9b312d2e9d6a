import { type AddressInfo, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Drain } from '../../src/http/drain.ts';
import { DEFAULT_HTTP_LIMITS, httpLimitsFrom } from '../../src/http/limits.ts';
import { createBrokerServer } from '../../src/http/server.ts';

describe('HTTP limits from the environment', () => {
  it('defaults to 1 MB bodies and bounded timeouts and connections', () => {
    expect(httpLimitsFrom({})).toEqual(DEFAULT_HTTP_LIMITS);
    expect(DEFAULT_HTTP_LIMITS.maxBodyBytes).toBe(1024 * 1024);
  });

  it('takes whole numbers in range and refuses anything else, naming the setting', () => {
    expect(httpLimitsFrom({ KEYHOLE_MAX_BODY_BYTES: '2048', KEYHOLE_MAX_CONNECTIONS: ' ' })).toMatchObject({ maxBodyBytes: 2048, maxConnections: 1024 });
    for (const [name, value] of [
      ['KEYHOLE_MAX_BODY_BYTES', '1e9'],
      ['KEYHOLE_MAX_BODY_BYTES', '-1'],
      ['KEYHOLE_HEADERS_TIMEOUT_MS', '1.5'],
      ['KEYHOLE_MAX_CONNECTIONS', '0'],
      ['KEYHOLE_SHUTDOWN_DEADLINE_MS', 'soon'],
    ]) {
      expect(() => httpLimitsFrom({ [name!]: value }), `${name}=${value}`).toThrow(name);
    }
  });
});

/** A server whose one route answers when `release` is called. */
async function serverHolding(shutdownDeadlineMs: number) {
  const drain = new Drain();
  let flushed = false;
  drain.onFlush(async () => {
    flushed = true;
  });
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const http = createBrokerServer(
    (_, response) => {
      void held.then(() => response.end('done'));
    },
    { ...DEFAULT_HTTP_LIMITS, shutdownDeadlineMs },
    drain,
  );
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/`;
  return { http, drain, url, release, flushed: () => flushed };
}

describe('draining the HTTP server', () => {
  it('waits for a request in flight, then flushes, and reports a clean drain', async () => {
    const s = await serverHolding(5000);
    const answer = fetch(s.url).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const shutdown = s.http.shutdown();
    expect(s.drain.draining).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.flushed()).toBe(false);
    s.release();
    expect(await answer).toBe('done');
    expect(await shutdown).toBe(true);
    expect(s.flushed()).toBe(true);
  });

  it('gives up at the deadline on a request that does not finish, still flushes, and reports it', async () => {
    const s = await serverHolding(200);
    const answer = fetch(s.url).catch(() => 'cut off');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await s.http.shutdown()).toBe(false);
    expect(s.flushed()).toBe(true);
    expect(await answer).toBe('cut off');
  });
});

describe('connections', () => {
  it('closes sockets past KEYHOLE_MAX_CONNECTIONS on arrival and keeps serving the others', async () => {
    const http = createBrokerServer((_, response) => void response.end('ok'), { ...DEFAULT_HTTP_LIMITS, maxConnections: 2 }, new Drain());
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    const port = (http.server.address() as AddressInfo).port;
    const open = () =>
      new Promise<Socket>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
      });
    const held = [await open(), await open()];
    const third = await open();
    await new Promise((resolve) => third.once('close', resolve));
    const answer = new Promise<string>((resolve) => held[0]!.once('data', (chunk) => resolve(String(chunk))));
    held[0]!.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await answer).toMatch(/^HTTP\/1\.1 200[\s\S]*ok$/);
    http.server.closeAllConnections();
    await new Promise((resolve) => http.server.close(resolve));
  });
});
