import type { ExecutionResult, GraphQLError } from 'graphql';
import { rebuildError } from '../rebuild-error.ts';
import type { Plugin } from 'graphql-yoga';

function withoutEcho(error: GraphQLError): GraphQLError {
  if (!('originalError' in error.extensions)) return error;
  const { originalError: _echo, ...extensions } = error.extensions;
  return rebuildError(error, extensions);
}

/**
 * graphql-yoga answers a body that is not JSON with the parser's message in `extensions.originalError`, and that
 * message quotes the body back. The code and message say enough; the parser's words stay out of the answer.
 */
export function useNoParserEcho(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      if (single.errors?.some((error) => 'originalError' in (error.extensions ?? {}))) {
        setResult({ ...single, errors: single.errors.map(withoutEcho) });
      }
    },
  };
}
