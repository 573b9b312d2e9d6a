import { type DocumentNode, GraphQLError, type GraphQLSchema, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { rebuildError } from '../rebuild-error.ts';

const SUGGESTION = /\s*Did you mean[\s\S]*$/;

interface HttpExtension {
  status?: number;
  spec?: boolean;
}

/**
 * A refused query is a client error: its status (400 unless it says otherwise) whatever the Accept header.
 * `spec: false` keeps yoga from answering 200 to application/json (GraphQL-over-HTTP's legacy mode), so
 * proxies and clients see the refusal too.
 */
function clean(error: GraphQLError, code: string): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  const http = { status: (error.extensions.http as HttpExtension | undefined)?.status ?? 400, spec: false };
  const extensions = { ...error.extensions, code: error.extensions.code ?? code, http };
  return rebuildError(error, extensions, message);
}

/** Whether yoga would answer this error with 200 under application/json. */
function inLegacyMode(error: GraphQLError): boolean {
  return (error.extensions.http as HttpExtension | undefined)?.spec === true;
}

/**
 * Operations of a type the schema lacks (an agent's view has no mutation or subscription). graphql-js 16 validates
 * none of this (17's KnownOperationTypesRule does): a subscription went on to `subscribe`, which answered 200
 * without a code, and a mutation failed in execution.
 */
function unknownOperationTypes(schema: GraphQLSchema, document: DocumentNode): GraphQLError[] {
  return document.definitions.flatMap((definition) =>
    definition.kind === Kind.OPERATION_DEFINITION && !schema.getRootType(definition.operation)
      ? [new GraphQLError(`This endpoint has no ${definition.operation} operations.`, { nodes: definition })]
      : [],
  );
}

/**
 * Validation and parse errors leave with a stable code and without "Did you mean …" hints: a hint can name
 * a type or field, and schema-recovery tools rebuild schemas from hints alone. graphql-armor's suggestion
 * blocker covers field hints; this also covers "Did you mean to use an inline fragment on …?".
 */
export function useErrorHygiene(): Plugin {
  return {
    onValidate({ params }) {
      return ({ result, setResult }) => {
        const errors = [...result, ...unknownOperationTypes(params.schema, params.documentAST)];
        if (errors.length > 0) setResult(errors.map((error) => clean(error, 'GRAPHQL_VALIDATION_FAILED')));
      };
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(clean(result, 'GRAPHQL_PARSE_FAILED'));
      };
    },
    // yoga's own hooks that run after ours mark some refusals for the legacy 200 again: its after-parse hook
    // (usePreventMutationViaGET) does it to parse errors, its body parser to a body that is not JSON. The
    // result processor is the last step before the status is chosen, so the status is restored here.
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result || !result.errors?.some(inLegacyMode)) return;
      setResult({ ...result, errors: result.errors.map((error) => (inLegacyMode(error) ? clean(error, 'BAD_REQUEST') : error)) });
    },
  };
}
