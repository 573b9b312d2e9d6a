import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RecordRefusal } from '../../request/audit-draft.ts';
import { refusal } from '../../request/refusals.ts';
import { type KeyholeContext, type RequestState, requestState } from '../../request/state.ts';

const PARAMETERS = new Set(['query', 'variables', 'operationName', 'extensions']);

/**
 * The longest operation name taken (as long as an argument string may be): the record stores the name as sent, and
 * an unbounded one would let an agent write a megabyte of its own text into the audit log with every request.
 */
const MAX_NAME = 1024;
const longName = `An operation name longer than ${MAX_NAME} characters.`;

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Why a GraphQL request envelope cannot run, or null. It covers everything yoga's own check refuses (that
 * check runs after our hooks and would refuse unrecorded) and the operation name, which yoga passes on
 * whatever its type. Messages never echo what was sent: they end up in the audit record.
 */
function envelopeProblem(params: unknown): string | null {
  if (kindOf(params) !== 'object') return `Expected the request to be a JSON object, got ${kindOf(params)}.`;
  const envelope = params as Record<string, unknown>;
  if (Object.keys(envelope).some((name) => envelope[name] != null && !PARAMETERS.has(name))) {
    return 'Unexpected parameter in the request: only query, variables, operationName and extensions are allowed.';
  }
  if (typeof envelope.query !== 'string') return `Expected "query" to be a string, got ${kindOf(envelope.query)}.`;
  if (envelope.operationName != null && typeof envelope.operationName !== 'string') {
    return `Expected "operationName" to be a string or null, got ${kindOf(envelope.operationName)}.`;
  }
  if (typeof envelope.operationName === 'string' && envelope.operationName.length > MAX_NAME) return longName;
  for (const name of ['variables', 'extensions']) {
    if (envelope[name] != null && kindOf(envelope[name]) !== 'object') return `Expected "${name}" to be an object or null, got ${kindOf(envelope[name])}.`;
  }
  return null;
}

/**
 * Takes the query and operation name for the request's audit record, from an envelope checked first: a
 * value of another type would be hashed as itself but stored as text. A bad envelope is refused, and the
 * refusal recorded, before anything runs.
 */
async function captureParams(state: RequestState, params: unknown, recordRefusal: RecordRefusal): Promise<void> {
  const problem = envelopeProblem(params);
  if (problem) {
    await recordRefusal(state, 'BAD_REQUEST', problem);
    throw refusal('BAD_REQUEST', problem);
  }
  const { query, operationName } = params as { query: string; operationName?: string | null };
  state.query = query;
  state.operationName = operationName ?? null;
}

/**
 * The query text and operation name for the request's audit record: the name the request sends, else the one
 * its document gives the operation that runs (`query SupportLookup { … }` sent without `operationName`).
 */
export function useOperationCapture(recordRefusal: RecordRefusal): Plugin {
  return {
    onParams: ({ params, request }) => captureParams(requestState(request), params, recordRefusal),
    onExecute({ args, setResultAndStopExecution }) {
      const state = requestState((args.contextValue as KeyholeContext).request);
      const name = state.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value ?? null;
      // A name too long to record refuses the request, whose refusal is recorded (without the name) like any result.
      if (name !== null && name.length > MAX_NAME) return setResultAndStopExecution({ errors: [refusal('BAD_REQUEST', longName)] });
      state.operationName = name;
    },
  };
}
