import type { IncomingMessage, Server } from 'node:http';

/** What one client may hold of a broker: bytes, time and sockets. */
export interface HttpLimits {
  /** Largest request body read (KEYHOLE_MAX_BODY_BYTES); larger ones are refused with 413 before they are held. */
  maxBodyBytes: number;
  /** Time to send the request headers (KEYHOLE_HEADERS_TIMEOUT_MS): a slow-loris client is cut off after it. */
  headersTimeoutMs: number;
  /** Time to send the whole request, body included (KEYHOLE_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** How long an idle kept-alive socket stays open (KEYHOLE_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Sockets open at once (KEYHOLE_MAX_CONNECTIONS); more are closed on arrival. */
  maxConnections: number;
  /** How long a shutdown waits for requests in flight (KEYHOLE_SHUTDOWN_DEADLINE_MS). */
  shutdownDeadlineMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  shutdownDeadlineMs: 15_000,
};

const SETTINGS: ReadonlyArray<[keyof HttpLimits, string, number, number]> = [
  ['maxBodyBytes', 'KEYHOLE_MAX_BODY_BYTES', 1024, 64 * 1024 * 1024],
  ['headersTimeoutMs', 'KEYHOLE_HEADERS_TIMEOUT_MS', 100, 600_000],
  ['requestTimeoutMs', 'KEYHOLE_REQUEST_TIMEOUT_MS', 100, 600_000],
  ['keepAliveTimeoutMs', 'KEYHOLE_KEEP_ALIVE_TIMEOUT_MS', 100, 600_000],
  ['maxConnections', 'KEYHOLE_MAX_CONNECTIONS', 1, 1_000_000],
  ['shutdownDeadlineMs', 'KEYHOLE_SHUTDOWN_DEADLINE_MS', 0, 600_000],
];

/** The limits from the environment: each a whole number within its range; absent or empty means the default. */
export function httpLimitsFrom(env: NodeJS.ProcessEnv): HttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS };
  for (const [field, name, min, max] of SETTINGS) {
    const value = env[name];
    if (value === undefined || value.trim() === '') continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
    limits[field] = n;
  }
  // Node ends a request past headersTimeout only if requestTimeout is not shorter.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) limits.headersTimeoutMs = limits.requestTimeoutMs;
  return limits;
}

export function applyServerLimits(server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  // Node's header timeout starts at a request's first byte: a socket that never sends one would stay open for good.
  // This inactivity timeout closes it; createBrokerServer lifts it from a socket while it carries a request.
  server.timeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}

/**
 * The request body, or null once it would pass `max` bytes: the rest is left unread (never held), and a
 * declared Content-Length over the limit is refused before any of it is read.
 */
export function readBoundedBody(request: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(request.headers['content-length'] ?? 0) > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (body: Buffer | null) => {
      request.off('data', onData).off('end', onEnd).off('error', reject);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      request.pause();
      chunks.length = 0;
      finish(null);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    request.on('data', onData).on('end', onEnd).on('error', reject);
  });
}
