import type { Plugin } from 'graphql-yoga';
import type { AgentRegistry } from '../config/index.ts';
import { DPOP_ALGORITHMS } from '../identity/dpop.ts';

/** RFC 9728 §3: where a protected resource publishes its metadata (with the resource's path appended, if it has one). */
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/** The broker's resource identifier: the configured one (KEYHOLE_RESOURCE, schema/issuers.yaml), else the origin asked. */
export function resourceIdentifier(registry: AgentRegistry, requestUrl: string): string {
  return registry.issuers.resource ?? new URL(requestUrl).origin;
}

/** RFC 9728 §5.1: the `resource_metadata` URL a 401's WWW-Authenticate names, on the origin the client asked. */
export function resourceMetadataUrl(requestUrl: string): string {
  return new URL(PROTECTED_RESOURCE_PATH, requestUrl).href;
}

/**
 * The protected-resource metadata (RFC 9728 §2): the trusted issuers as authorization servers, one scope per
 * registered purpose (in the first issuer's purpose prefix, which is how tokens name it), bearer tokens in the
 * header only, and DPoP. What a standard OAuth client needs to find out how to get a token for this broker.
 */
export function protectedResourceMetadata(registry: AgentRegistry, requestUrl: string): Record<string, unknown> {
  const issuers = [...registry.issuers.byIssuer.values()];
  const prefix = issuers[0]?.purpose.prefix ?? 'purpose:';
  return {
    resource: resourceIdentifier(registry, requestUrl),
    resource_name: 'Keyhole',
    authorization_servers: issuers.map((issuer) => issuer.issuer),
    scopes_supported: [...registry.purposes.keys()].map((purpose) => `${prefix}${purpose}`),
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    dpop_bound_access_tokens_required: registry.issuers.dpopRequired,
  };
}

/**
 * `GET /.well-known/oauth-protected-resource` (and the same with the resource identifier's path appended, as
 * RFC 9728 §3.1 builds it). Public by design, like a JWKS: it says how to get a token, not what a token can see.
 * The registry is read per request, so a reloaded schema/issuers.yaml shows at once.
 */
export function useProtectedResourceMetadata(registry: () => AgentRegistry): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (!url.pathname.startsWith(PROTECTED_RESOURCE_PATH)) return;
      const current = registry();
      const resourcePath = new URL(resourceIdentifier(current, request.url)).pathname;
      const suffixed = resourcePath === '/' ? PROTECTED_RESOURCE_PATH : `${PROTECTED_RESOURCE_PATH}${resourcePath}`;
      if (url.pathname !== PROTECTED_RESOURCE_PATH && url.pathname !== suffixed) return;
      if (request.method !== 'GET') return endResponse(Response.json({ error: 'method not allowed' }, { status: 405, headers: { allow: 'GET' } }));
      endResponse(Response.json(protectedResourceMetadata(current, request.url), { headers: { 'cache-control': 'max-age=300' } }));
    },
  };
}
