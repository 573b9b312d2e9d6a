import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { refusalResponse } from '../request/refusal-response.ts';

const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** The page's files, by URL path. A fixed list: no request path ever becomes a file path. */
const FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/officer', { file: join(ASSETS_DIR, 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/officer/', { file: join(ASSETS_DIR, 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/officer/assets/dashboard.js', { file: join(ASSETS_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' }],
  ['/officer/assets/dashboard.css', { file: join(ASSETS_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' }],
  ['/officer/assets/chart.js', { file: CHART_JS, type: 'text/javascript; charset=utf-8' }],
]);

/**
 * Same-origin only, no inline script or style: the page holds an officer token in sessionStorage, so
 * nothing but our own files may run in it, and it talks to nothing but this server.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const cache = new Map<string, Uint8Array<ArrayBuffer>>();

async function contents(file: string): Promise<Uint8Array<ArrayBuffer>> {
  let bytes = cache.get(file);
  if (!bytes) {
    bytes = new Uint8Array(await readFile(file));
    cache.set(file, bytes);
  }
  return bytes;
}

/** Everything under /officer belongs to the officer routes (the page, its assets, the API). */
export function isOfficerPath(pathname: string): boolean {
  return pathname === '/officer' || pathname.startsWith('/officer/');
}

/** The dashboard page or one of its assets; 404 for any other path under /officer/. */
export async function serveAsset(request: Request, pathname: string): Promise<Response> {
  const asset = FILES.get(pathname);
  // The same JSON 404 as every other unknown path (`/officer/graphql/` included), so a client reads one shape.
  if (!asset) return refusalResponse(request, 'NOT_FOUND');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('Method not allowed', { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' } });
  }
  const body = await contents(asset.file);
  return new Response(request.method === 'HEAD' ? null : body, {
    headers: { 'content-type': asset.type, 'content-length': String(body.byteLength), ...SECURITY_HEADERS },
  });
}
