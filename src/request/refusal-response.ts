import { dpopChallenge } from '../identity/dpop-gate.ts';
import { resourceMetadataUrl } from '../http/protected-resource.ts';
import { answerMediaType } from './media-type.ts';
import { ERROR_CODES, type RefusalCode } from './refusals.ts';
import { requestState } from './state.ts';

/**
 * A refusal answered before GraphQL runs (endpoint, gate, identity): the same error shape as GraphQL's own, with
 * its HTTP status, in the media type the client accepts (see answerMediaType).
 *
 * Built here rather than thrown as a GraphQLError for yoga to format (its own plugins' way, from onRequestParse):
 * yoga answers a refusal to `Accept: text/html` with a bodiless 406 and reads `q=0` as acceptable, so a client
 * would lose the code, the status and the media type it asked for (test/e2e/http-contract pins all three).
 */
export function refusalResponse(request: Request, code: RefusalCode, message: string = ERROR_CODES[code].message, realm = 'keyhole'): Response {
  const { status } = ERROR_CODES[code];
  const headers: Record<string, string> = { 'content-type': `${answerMediaType(request.headers.get('accept'))}; charset=utf-8` };
  // RFC 9728 §5.1: every 401 names where a client finds out which issuers to ask for a token, and how.
  if (status === 401)
    headers['www-authenticate'] = `${dpopChallenge(code) ?? `Bearer realm="${realm}"`}, resource_metadata="${resourceMetadataUrl(request.url)}"`;
  if (status === 405) headers.allow = 'POST';
  const body = { errors: [{ message, extensions: { code } }], extensions: { requestId: requestState(request).requestId } };
  return new Response(JSON.stringify(body), { status, headers });
}
