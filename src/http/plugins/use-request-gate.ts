import type { Plugin } from 'graphql-yoga';
import { ERROR_CODES, type RefusalCode } from '../../request/refusals.ts';
import { refusalResponse } from '../../request/refusal-response.ts';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { requestState } from '../../request/state.ts';

/** The content types yoga parses as a JSON body (its own test: exact, case-sensitive, parameters allowed). */
function isJsonBody(contentType: string | null): boolean {
  const type = contentType?.split(',')[0] ?? '';
  return type === 'application/json' || type.startsWith('application/json;');
}

export interface RequestGateOptions {
  /** Records the refusal: a probe with the wrong method or body is an access attempt too. */
  recordRefusal: RecordRefusal;
  /** Methods taken besides POST on a path (MCP's DELETE and GET); a POST must carry JSON everywhere. */
  otherMethods?: (url: URL) => readonly string[];
}

/**
 * Only JSON POSTs reach GraphQL: GET and form-encoded POSTs are what a browser sends cross-site without a
 * preflight (CSRF), and agents never need them. Anything yoga would not parse as JSON is refused here, with a
 * code and a record, rather than by yoga's bare 415. Runs on the endpoint's path only (see useEndpointOnly),
 * before identity: a request no token could make acceptable costs no signature check.
 */
export function useRequestGate(options: RequestGateOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      const refuse = async (code: RefusalCode) => {
        await options.recordRefusal(requestState(request), code, ERROR_CODES[code].message);
        endResponse(refusalResponse(request, code));
      };
      if (request.method !== 'POST') return options.otherMethods?.(url).includes(request.method) ? undefined : refuse('METHOD_NOT_ALLOWED');
      if (!isJsonBody(request.headers.get('content-type'))) return refuse('UNSUPPORTED_MEDIA_TYPE');
    },
  };
}
