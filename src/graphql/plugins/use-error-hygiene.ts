import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean[^]*$/;

function clean(error: GraphQLError, code: string): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  // A refused query is a client error: 400 whatever the Accept header. `spec: false` keeps yoga from
  // answering 200 to application/json (GraphQL-over-HTTP's legacy mode), so proxies see the refusal too.
  const http = { status: 400, spec: false };
  const extensions = { ...error.extensions, code: error.extensions.code ?? code, http };
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}

/**
 * Validation and parse errors leave with a stable code and without "Did you mean …" hints: a hint can name
 * a type or field, and schema-recovery tools rebuild schemas from hints alone. graphql-armor's suggestion
 * blocker covers field hints; this also covers "Did you mean to use an inline fragment on …?".
 */
export function useErrorHygiene(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map((error) => clean(error, 'GRAPHQL_VALIDATION_FAILED')));
      };
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(clean(result, 'GRAPHQL_PARSE_FAILED'));
      };
    },
  };
}
