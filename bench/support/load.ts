/**
 * A closed-loop HTTP load generator: a fixed number of keep-alive connections, each sending the next
 * POST as soon as the previous answer arrived, for a fixed time. Plain `node:http` rather than `fetch`,
 * because the client shares this 2-core machine with the server it measures and should cost it little.
 */
import { Agent, request } from 'node:http';
import { quantile } from './stats.ts';

export interface LoadTarget {
  url: string;
  body: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  /** Requests answered 200 without a GraphQL `errors` member. */
  requests: number;
  failures: number;
  /** The first failure's status and body, so a broken server is diagnosed rather than timed. */
  firstFailure: string | null;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export class LoadFailedError extends Error {
  constructor(target: string, failures: number, sample: string) {
    super(`${failures} requests to ${target} failed; first: ${sample}`);
    this.name = 'LoadFailedError';
  }
}

function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>): Promise<{ ok: boolean; text: () => string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const payload = Buffer.concat(chunks);
        const ok = res.statusCode === 200 && !payload.includes('"errors"');
        resolve({ ok, text: () => `${res.statusCode} ${payload.toString('utf8').slice(0, 500)}` });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadClient {
  /** Keeps `connections` requests in flight for `durationMs`; latencies of all answered requests. */
  run(durationMs: number): Promise<LoadResult>;
  close(): void;
}

export function createLoadClient(target: LoadTarget, connections: number): LoadClient {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL(target.url);
  const body = Buffer.from(target.body);
  const headers = target.headers ?? {};
  return {
    async run(durationMs) {
      const latencies: number[] = [];
      let failures = 0;
      let firstFailure: string | null = null;
      const started = performance.now();
      const deadline = started + durationMs;
      const worker = async () => {
        while (performance.now() < deadline) {
          const sent = performance.now();
          const reply = await post(agent, url, body, headers);
          if (reply.ok) latencies.push(performance.now() - sent);
          else {
            failures++;
            firstFailure ??= reply.text();
          }
        }
      };
      await Promise.all(Array.from({ length: connections }, worker));
      const seconds = (performance.now() - started) / 1000;
      return {
        requests: latencies.length,
        failures,
        firstFailure,
        seconds,
        perSecond: latencies.length / seconds,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
      };
    },
    close: () => agent.destroy(),
  };
}
