import type { Plugin } from 'graphql-yoga';

/** Where a broker publishes the public key its audit checkpoints are signed with. */
export const CHECKPOINT_KEY_PATH = '/.well-known/keyhole/checkpoint-key';

/**
 * `GET /.well-known/keyhole/checkpoint-key`: the C2SP note verifier key (`name+keyid+base64(0x01 || Ed25519 key)`) as
 * text/plain, what `keyhole audit check-proof --public-key` and any note verifier take. Public by nature.
 */
export function useCheckpointKeyRoute(verifierKey: string): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== CHECKPOINT_KEY_PATH) return;
      if (request.method !== 'GET') return endResponse(Response.json({ error: 'method not allowed' }, { status: 405, headers: { allow: 'GET' } }));
      endResponse(new Response(`${verifierKey}\n`, { headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } }));
    },
  };
}
