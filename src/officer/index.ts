import type { Plugin } from 'graphql-yoga';
import { isOfficerPath, serveAsset } from './assets.ts';
import { createOfficerYoga, OFFICER_GRAPHQL_PATH, type OfficerYogaOptions } from './officer-yoga.ts';

export { OFFICER_GRAPHQL_PATH } from './officer-yoga.ts';
export { isCrossBorder } from './subject-queries.ts';
export type { AuditFilter } from './filter.ts';

export type OfficerRoutesOptions = OfficerYogaOptions;

/** Answers `/officer` (page), `/officer/assets/*` and `/officer/graphql`; null for any other path. */
export type OfficerRequestHandler = (request: Request) => Promise<Response | null>;

export function createOfficerHandler(options: OfficerRoutesOptions): OfficerRequestHandler {
  const yoga = createOfficerYoga(options);
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (!isOfficerPath(pathname)) return null;
    return pathname === OFFICER_GRAPHQL_PATH ? yoga.fetch(request) : serveAsset(request, pathname);
  };
}

export type OfficerRoutesPlugin = Plugin & { handleOfficerRequest: OfficerRequestHandler };

/** The officer routes as a route plugin of the broker's server (see `routes` in createAgentYoga). */
export function useOfficerRoutes(options: OfficerRoutesOptions): OfficerRoutesPlugin {
  const handleOfficerRequest = createOfficerHandler(options);
  return {
    handleOfficerRequest,
    async onRequest({ request, url, endResponse }) {
      // Agents' requests pass straight through: the path was already parsed for us.
      if (!isOfficerPath(url.pathname)) return;
      const response = await handleOfficerRequest(request);
      if (response) endResponse(response);
    },
  };
}
