import type { Plugin } from 'graphql-yoga';
import { refusalResponse } from '../errors.ts';

/**
 * Only JSON POSTs reach GraphQL: GET and form-encoded POSTs are what a browser sends cross-site without a
 * preflight (CSRF), and agents never need them.
 */
export function useRequestGate(graphqlPath: string): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== graphqlPath) return;
      const json = (status: number, code: string, message: string) => endResponse(refusalResponse(status, code, message));
      if (request.method !== 'POST') return json(405, 'METHOD_NOT_ALLOWED', 'Use POST with a JSON body.');
      const type = request.headers.get('content-type') ?? '';
      if (!/^application\/(graphql-response\+)?json\b/i.test(type)) return json(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send Content-Type: application/json.');
    },
  };
}
