import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Drain } from './drain.ts';
import { applyServerLimits, type HttpLimits, readBoundedBody } from './limits.ts';

/** What the broker's routes are told about the body the server would not read (see useBodyLimit). */
export interface BodyLimitContext {
  bodyTooLarge?: boolean;
}

export interface BrokerServer {
  server: Server;
  /**
   * Stops accepting, closes idle keep-alive sockets, refuses what still arrives (the drain gate), waits for the
   * requests in flight up to the shutdown deadline, closes every connection, then flushes the drain. True when
   * every request finished in time.
   */
  shutdown(): Promise<boolean>;
}

/** How long a connection whose body was refused as too large stays open after its 413 (see createBrokerServer). */
const TOO_LARGE_LINGER_MS = 1000;

function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
}

/** A Node HTTP server for the broker's listener, within `limits`, that can drain. */
export function createBrokerServer(listener: RequestListener, limits: HttpLimits, drain: Drain): BrokerServer {
  const inFlight = new Set<ServerResponse>();
  let settled: () => void = () => {};
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    // The idle-socket timeout (applyServerLimits) is for sockets without a request; this one's time is bounded by
    // the request timeout while it arrives and by the request deadline while it runs.
    request.socket.setTimeout(0);
    inFlight.add(response);
    response.once('close', () => {
      inFlight.delete(response);
      if (inFlight.size === 0) settled();
    });
    // A client on a kept-alive socket learns with this answer that the socket closes after it.
    if (drain.draining) response.shouldKeepAlive = false;
    const context: BodyLimitContext = {};
    if (hasBody(request)) {
      const body = await readBoundedBody(request, limits.maxBodyBytes).catch(() => null);
      if (body === null) {
        context.bodyTooLarge = true;
        // The rest of the body is never read. Closing at once would reset the connection under the 413 before the
        // client reads it (a client still sending reads answers as they come): close once it has had a moment.
        response.once('finish', () => setTimeout(() => request.socket.destroy(), TOO_LARGE_LINGER_MS).unref());
      } else {
        // The Node adapter of graphql-yoga takes a body already read from here instead of the stream.
        (request as IncomingMessage & { body?: Buffer }).body = body;
      }
    }
    (listener as (req: IncomingMessage, res: ServerResponse, context: BodyLimitContext) => void)(request, response, context);
  };
  // Node checks the header and request timeouts this often (30 s by default, longer than the timeouts themselves).
  const server = createServer({ connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) }, (request, response) => void handle(request, response));
  applyServerLimits(server, limits);
  return {
    server,
    async shutdown() {
      drain.start();
      server.close();
      server.closeIdleConnections();
      // Requests in flight close their connections with their answers, so no socket outlives the drain idle.
      for (const response of inFlight) if (!response.headersSent) response.shouldKeepAlive = false;
      const finished = new Promise<boolean>((resolve) => {
        settled = () => resolve(true);
        if (inFlight.size === 0) resolve(true);
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), limits.shutdownDeadlineMs);
      });
      const clean = await Promise.race([finished, deadline]);
      clearTimeout(timer);
      // No request can start after this; the records of those still running (refusals, or past the deadline) are
      // written by the flush, before the caller closes the database.
      server.closeAllConnections();
      await drain.flush();
      return clean;
    },
  };
}
