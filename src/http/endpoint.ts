import type { Plugin } from 'graphql-yoga';
import { refusalResponse } from '../request/refusal-response.ts';

/**
 * Whether a URL names the GraphQL endpoint at `path`: that exact path, with any query string. The one test
 * every plugin of an endpoint keys to, so none of them can disagree about which requests are GraphQL's.
 */
export function isEndpoint(url: URL, path: string): boolean {
  return url.pathname === path;
}

/**
 * Any other path answers 404 before yoga sees it. yoga serves its endpoint on more paths than the configured
 * one (`/graphql/`, `//graphql`, any URL whose text ends in `/graphql`), a rule that is neither documented nor
 * stable across versions; one exact path is the only one identity, the gate and the audit can be sure to see.
 * Installed after the server's other routes and before everything that handles GraphQL (or MCP, on its own path).
 */
export function useEndpointOnly(...paths: string[]): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (!paths.some((path) => isEndpoint(url, path))) endResponse(refusalResponse(request, 'NOT_FOUND'));
    },
  };
}
