import type { Plugin } from 'graphql-yoga';
import type { TokenKeys } from '../identity/index.ts';

/** Where a broker publishes the keys it verifies agents' tokens with (a JWKS document: public keys only). */
export const TOKEN_KEYS_PATH = '/.well-known/keyhole/token-keys';

/**
 * `GET /.well-known/keyhole/token-keys`: `{ keys: JWK[] }`, each with its `kid` where the broker knows it. Public
 * by nature (a JWKS is published), it lets `keyhole token` refuse to mint with a key this broker would refuse.
 */
export function useTokenKeysRoute(keys: Pick<TokenKeys, 'publicJwks'>): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== TOKEN_KEYS_PATH) return;
      if (request.method !== 'GET') return endResponse(Response.json({ error: 'method not allowed' }, { status: 405, headers: { allow: 'GET' } }));
      endResponse(Response.json({ keys: keys.publicJwks }, { headers: { 'cache-control': 'no-store' } }));
    },
  };
}
