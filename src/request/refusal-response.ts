import { DPOP_ALGORITHMS } from '../identity/dpop.ts';
import { dpopChallenge } from '../identity/dpop-gate.ts';
import { resourceMetadataUrl } from '../http/protected-resource.ts';
import { answerMediaType } from './media-type.ts';
import { ERROR_CODES, type RefusalCode } from './refusals.ts';
import { requestState } from './state.ts';

/** The code each refusal response was built with, for observers of answers (metrics) that must not parse bodies. */
const refusalCodes = new WeakMap<Response, RefusalCode>();

export function refusalCodeOf(response: Response): RefusalCode | undefined {
  return refusalCodes.get(response);
}

/** What a 401 challenges the caller with: the realm, and whether DPoP is required of it. */
export interface AuthChallenge {
  realm?: string;
  /** Broker-wide (schema/issuers.yaml), or the policy of an agent whose signed token named it. */
  dpopRequired?: boolean;
}

/**
 * A 401's WWW-Authenticate. RFC 9728 §5.1: every challenge names where a client finds out which issuers to ask for
 * a token, and how. RFC 9449 §7.1: where DPoP is required, a DPoP challenge stands beside Bearer even when the token
 * is missing, so a client learns to bind its token before it asks for one; a DPoP refusal challenges with DPoP alone.
 */
export function wwwAuthenticate(requestUrl: string, code: RefusalCode, { realm = 'keyhole', dpopRequired = false }: AuthChallenge): string {
  const metadata = `resource_metadata="${resourceMetadataUrl(requestUrl)}"`;
  const dpop = dpopChallenge(code);
  if (dpop !== undefined) return `${dpop}, ${metadata}`;
  const bearer = `Bearer realm="${realm}", ${metadata}`;
  return dpopRequired ? `${bearer}, DPoP algs="${DPOP_ALGORITHMS.join(' ')}", ${metadata}` : bearer;
}

/**
 * A refusal answered before GraphQL runs (endpoint, gate, identity): the same error shape as GraphQL's own, with
 * its HTTP status, in the media type the client accepts (see answerMediaType).
 *
 * Built here rather than thrown as a GraphQLError for yoga to format (its own plugins' way, from onRequestParse):
 * yoga answers a refusal to `Accept: text/html` with a bodiless 406 and reads `q=0` as acceptable, so a client
 * would lose the code, the status and the media type it asked for (test/e2e/http-contract pins all three).
 */
export function refusalResponse(request: Request, code: RefusalCode, message: string = ERROR_CODES[code].message, challenge: AuthChallenge = {}): Response {
  const { status } = ERROR_CODES[code];
  const headers: Record<string, string> = { 'content-type': `${answerMediaType(request.headers.get('accept'))}; charset=utf-8` };
  if (status === 401) headers['www-authenticate'] = wwwAuthenticate(request.url, code, challenge);
  if (status === 405) headers.allow = 'POST';
  const body = { errors: [{ message, extensions: { code } }], extensions: { requestId: requestState(request).requestId } };
  const response = new Response(JSON.stringify(body), { status, headers });
  refusalCodes.set(response, code);
  return response;
}
