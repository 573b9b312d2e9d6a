import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { RuruClientConfig, ruruHTML } from 'ruru/server';
import type { getStaticFile } from 'ruru/static';

export const EXPLORER_PATH = '/explorer';
const STATIC_PATH = `${EXPLORER_PATH}/static/`;

/**
 * On unless NODE_ENV=production; KEYHOLE_EXPLORER=on or off decides either way. The page holds no data and
 * no token: it only sends what the developer pastes to /graphql, which checks the token like any other caller's.
 */
export function explorerEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.KEYHOLE_EXPLORER === 'on') return true;
  if (env.KEYHOLE_EXPLORER === 'off') return false;
  if (env.KEYHOLE_EXPLORER !== undefined) throw new Error(`KEYHOLE_EXPLORER: expected on or off, got "${env.KEYHOLE_EXPLORER}"`);
  return env.NODE_ENV !== 'production';
}

const HEADERS_HINT = JSON.stringify({ authorization: 'Bearer <paste the output of: npx keyhole token --agent support-bot>' }, null, 2);
const FIRST_QUERY = '{\n  viewer { agent purpose tables { name fields } }\n}\n';

// Ruru's type picks GraphiQL's props without making them optional; every one of them is optional to Ruru itself.
const FIRST_TAB = { initialHeaders: HEADERS_HINT, defaultHeaders: HEADERS_HINT, initialQuery: FIRST_QUERY, defaultQuery: FIRST_QUERY } as RuruClientConfig;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Ruru's page with a policy that lets only its own inline scripts (by hash) and its bundled files run, and
 * talks only to this server: the same strictness as the officer's dashboard, except the inline styles its
 * editor sets as it lays itself out.
 */
function explorerPage(render: typeof ruruHTML): { html: string; headers: Record<string, string> } {
  const html = render({ endpoint: '/graphql', staticPath: STATIC_PATH, clientConfig: FIRST_TAB });
  const inline = [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((match) => sha256(match[1]!));
  const policy = [
    "default-src 'none'",
    `script-src 'self' ${inline.join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, headers: { 'content-security-policy': policy, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } };
}

interface Ruru {
  page: ReturnType<typeof explorerPage>;
  staticFile: typeof getStaticFile;
}

/**
 * Ruru is loaded on the first request for the explorer, not at start: a broker installed without it (it is a
 * development tool) starts and serves everything else.
 */
async function loadRuru(): Promise<Ruru | null> {
  try {
    const [server, files] = await Promise.all([import('ruru/server'), import('ruru/static')]);
    return { page: explorerPage(server.ruruHTML), staticFile: files.getStaticFile };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });

/** The query explorer (Ruru, a GraphiQL) at /explorer: paste a token in its headers, query /graphql. */
export function useExplorer(): Plugin {
  let ruru: Promise<Ruru | null> | undefined;
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== EXPLORER_PATH && !url.pathname.startsWith(STATIC_PATH)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(text(405, 'Method not allowed', { allow: 'GET, HEAD' }));
        return;
      }
      ruru ??= loadRuru();
      const loaded = await ruru;
      if (!loaded) {
        endResponse(text(501, 'The query explorer needs the ruru package, which this installation lacks: npm install ruru'));
        return;
      }
      const { page, staticFile } = loaded;
      if (url.pathname === EXPLORER_PATH) {
        endResponse(new Response(page.html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...page.headers } }));
        return;
      }
      const file = await staticFile({
        staticPath: STATIC_PATH,
        urlPath: url.pathname,
        acceptEncoding: request.headers.get('accept-encoding') ?? undefined,
        disallowDevAssets: true,
      });
      endResponse(file ? new Response(new Uint8Array(file.content), { headers: { ...file.headers, ...page.headers } }) : text(404, 'Not found'));
    },
  };
}
