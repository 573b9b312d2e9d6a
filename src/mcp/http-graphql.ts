import type { GraphqlCall } from './server.ts';

/** The broker could not be reached or did not answer in time. */
export class BrokerUnreachableError extends Error {
  constructor(endpoint: string, cause: unknown) {
    const reason = cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause);
    super(`cannot reach the Keyhole broker at ${endpoint}: ${reason}`);
    this.name = 'BrokerUnreachableError';
  }
}

/** The broker's GraphQL endpoint from its base URL; a URL already ending in /graphql is kept as it is. */
export function graphqlEndpoint(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (!url.pathname.endsWith('/graphql')) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
  return url.toString();
}

export interface HttpGraphqlOptions {
  /** The broker's base URL, e.g. http://localhost:4000. */
  url: string;
  /** The agent's token; every request carries it, so the broker sees the agent itself. */
  token: string;
  timeoutMs?: number;
}

/** GraphQL over HTTP to a running broker, as the agent holding `token`. */
export function httpGraphql(options: HttpGraphqlOptions): GraphqlCall {
  const endpoint = graphqlEndpoint(options.url);
  const timeoutMs = options.timeoutMs ?? 60_000;
  return async (query, variables) => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${options.token}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BrokerUnreachableError(endpoint, error);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // Not GraphQL (a proxy's error page, say): the status alone tells the model what happened.
    }
    return { status: response.status, body };
  };
}
