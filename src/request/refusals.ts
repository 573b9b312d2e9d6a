import { createGraphQLError } from 'graphql-yoga';

/**
 * Every code a client can get, with its HTTP status and default message: the one registry (the README's error
 * table is tested against it). Messages never name a hidden table or field, never carry SQL or stack traces.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: { status: 401, message: 'Send a token: Authorization: Bearer <token>.' },
  TOKEN_EXPIRED: { status: 401, message: 'The token has expired.' },
  TOKEN_INVALID: { status: 401, message: 'The token is not valid.' },
  TOKEN_LIFETIME_EXCEEDED: { status: 401, message: 'The token lives longer than its role allows.' },
  UNKNOWN_AGENT: { status: 401, message: 'The token names no agent this endpoint serves.' },
  PURPOSE_NOT_ALLOWED: { status: 401, message: 'The token declares a purpose this agent is not allowed.' },
  AGENT_REVOKED: { status: 403, message: 'This agent has been revoked.' },
  DPOP_REQUIRED: { status: 401, message: 'This token must be sent as Authorization: DPoP <token> with a DPoP proof of its key.' },
  DPOP_INVALID: { status: 401, message: 'The DPoP proof is not valid for this token and request.' },
  DPOP_REPLAYED: { status: 401, message: 'This DPoP proof has been used before; sign a new one for each request.' },
  DELEGATION_REQUIRED: { status: 403, message: 'This view serves an agent only when it acts for a person (a delegated token).' },
  DELEGATION_CLAIM_MISSING: { status: 403, message: "The delegated token lacks a claim of the person that this view's row filters need." },
  NOT_AN_OFFICER: { status: 403, message: 'The officer API serves privacy officers only.' },
  RATE_LIMITED: { status: 429, message: 'This agent has had its requests or rows for this minute; retry after Retry-After seconds.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Use POST with a JSON body.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send Content-Type: application/json.' },
  GRAPHQL_PARSE_FAILED: { status: 400, message: 'The query is not valid GraphQL syntax.' },
  GRAPHQL_VALIDATION_FAILED: { status: 400, message: 'The query does not validate against this view.' },
  OPERATION_RESOLUTION_FAILURE: { status: 400, message: 'Could not determine what operation to execute.' },
  QUERY_LIMIT_EXCEEDED: { status: 400, message: 'The query exceeds a depth, alias, directive, cost or token limit.' },
  LIMIT_EXCEEDED: { status: 400, message: 'The requested page, or the rows or people of the whole request, exceed what this view allows.' },
  INVALID_ARGUMENT: { status: 400, message: 'An argument is not valid.' },
  BAD_REQUEST: { status: 400, message: 'The request is not a valid GraphQL request.' },
  MASKED_FIELD_FILTER: { status: 403, message: 'This view masks a field used to filter, sort or page; only equality on a pseudonym is allowed.' },
  APPROVAL_REQUIRED: { status: 403, message: 'A field in this request needs a human approval.' },
  BUDGET_NOT_DECLARED: { status: 403, message: 'No privacy budget is declared for this agent, so it may not ask for differentially private answers.' },
  BUDGET_EXHAUSTED: { status: 403, message: 'The privacy budget for this query is exhausted.' },
  PRIVACY_LIMIT_EXCEEDED: { status: 400, message: 'The ε or δ asked for is outside what one query may spend.' },
  TRANSFER_DENIED: { status: 403, message: 'Compliance rules deny this transfer.' },
  COMPLIANCE_DENIED: { status: 403, message: 'Compliance rules deny this answer.' },
  HE_OVERFLOW: { status: 400, message: 'This encrypted aggregate could exceed the exact range of its encryption scheme; narrow the filter.' },
  HE_KEY_UNKNOWN: { status: 400, message: 'No encryption key is registered under this name.' },
  HE_NOT_ENCRYPTED: { status: 400, message: 'This column has not been encrypted under this key.' },
  HE_EXACT_NOT_ALLOWED: { status: 403, message: 'This encrypted aggregate may only be answered with DP noise (noise: { epsilon }).' },
  ISSUER_UNAVAILABLE: { status: 503, message: 'The identity provider that issued this token cannot be reached and no cached key fits it; retry shortly.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The data store is unavailable; nothing was returned or recorded as returned.' },
  DEADLINE_EXCEEDED: { status: 504, message: 'The request did not finish within its deadline; nothing was returned.' },
  AUDIT_UNAVAILABLE: { status: 503, message: 'The access could not be recorded, so no data was returned.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body exceeds the size this broker accepts.' },
  SHUTTING_DOWN: { status: 503, message: 'This broker is shutting down; retry on another one.' },
  NOT_FOUND: { status: 404, message: 'No such endpoint: GraphQL is served at exactly one path.' },
  MCP_SESSION_NOT_FOUND: { status: 404, message: 'No MCP session with this id was opened with this token; initialize a new one.' },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'The Host or Origin of this request is not one the MCP endpoint serves.' },
  INTERNAL: { status: 500, message: 'Internal error; nothing was returned.' },
} as const;

export type RefusalCode = keyof typeof ERROR_CODES;

export function refusal(code: RefusalCode, message: string = ERROR_CODES[code].message, extra: Record<string, unknown> = {}) {
  return createGraphQLError(message, { extensions: { code, http: { status: ERROR_CODES[code].status }, ...extra } });
}

export function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('extensions' in error)) return undefined;
  const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isRefusal(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code !== undefined && code in ERROR_CODES && !['DATABASE_UNAVAILABLE', 'AUDIT_UNAVAILABLE', 'INTERNAL'].includes(code);
}
