import { GraphQLError } from 'graphql';

/** The same error (nodes, source, positions, path, cause) with other extensions or message: GraphQLError is immutable. */
export function rebuildError(error: GraphQLError, extensions: GraphQLError['extensions'], message: string = error.message): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}
