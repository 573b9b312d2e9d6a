import { createServer, type Server } from 'node:http';
import type { KeyholeMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

/** KEYHOLE_METRICS_PORT: a TCP port for /metrics; absent or empty means metrics are off. */
export function metricsPortFrom(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`KEYHOLE_METRICS_PORT: expected a port number from 0 to 65535, got "${value}"`);
  return port;
}

/**
 * /metrics on a port of its own, apart from the agents' port: operators expose it to their Prometheus only, and
 * no agent token can reach it. Every other path or method is a 404 / 405.
 */
export function createMetricsServer(metrics: KeyholeMetrics): Server {
  return createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    if (path !== METRICS_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    metrics.exposition().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(request.method === 'HEAD' ? undefined : text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
}
