export type GraphQLMediaType = 'application/graphql-response+json' | 'application/json';

/**
 * The media type of an answer made outside GraphQL execution (a refusal before the schema is chosen): the first
 * of GraphQL-over-HTTP's two media types that the client's Accept lists, the way yoga picks it for its own
 * answers, and application/json when Accept names neither. Apollo Client 4 reads a non-2xx answer's error code
 * only when it comes as application/graphql-response+json.
 */
export function answerMediaType(accept: string | null): GraphQLMediaType {
  for (const range of (accept ?? '').toLowerCase().split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim());
    if (params.some((param) => /^q=0(\.0*)?$/.test(param))) continue;
    if (type === 'application/graphql-response+json') return type;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'application/json';
  }
  return 'application/json';
}
