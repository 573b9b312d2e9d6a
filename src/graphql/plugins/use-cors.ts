import type { Plugin } from 'graphql-yoga';
import { isEndpoint } from '../../http/endpoint.ts';

/**
 * The origins whose scripts may read the endpoint's answers, from KEYHOLE_CORS_ORIGINS: a comma-separated list
 * of exact origins (`https://app.example.com`), or `*`. Unset means none: agents are programs, not pages.
 */
export function corsOriginsFrom(value: string | undefined): readonly string[] {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && URL.parse(origin)?.origin !== origin) {
      throw new Error(`KEYHOLE_CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path or trailing slash) or *`);
    }
  }
  return origins;
}

/**
 * CORS on the agents' endpoint only, for the configured origins only, and never with credentials: agents send
 * a bearer token, not cookies, so no answer needs `Access-Control-Allow-Credentials`, and a reflected origin
 * with credentials would let any site read what a signed-in browser can. Replaces yoga's own CORS, which
 * reflects any origin with credentials on every path the server answers (the officer routes included).
 */
export function useCors(path: string, origins: readonly string[]): Plugin {
  const allowedOrigin = (request: Request): string | null => {
    const origin = request.headers.get('origin');
    if (origin === null || origins.length === 0) return null;
    if (origins.includes('*')) return '*';
    return origins.includes(origin) ? origin : null;
  };
  return {
    onRequest({ request, url, endResponse }) {
      if (!isEndpoint(url, path) || request.method !== 'OPTIONS') return;
      const origin = allowedOrigin(request);
      const headers: Record<string, string> = { allow: 'POST' };
      if (origin) {
        Object.assign(headers, {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization, content-type, x-request-id',
          'access-control-max-age': '600',
          vary: 'Origin',
        });
      }
      endResponse(new Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      if (request.method === 'OPTIONS' || !isEndpoint(new URL(request.url), path)) return;
      const origin = allowedOrigin(request);
      if (!origin) return;
      response.headers.set('access-control-allow-origin', origin);
      response.headers.append('vary', 'Origin');
    },
  };
}
