import { refusal } from '../request/refusals.ts';
import type { RequestState } from '../request/state.ts';

const PARAMETERS = new Set(['query', 'variables', 'operationName', 'extensions']);

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Why a GraphQL request envelope cannot run, or null. It covers everything yoga's own check refuses (that
 * check runs after our hooks and would refuse unrecorded) and the operation name, which yoga passes on
 * whatever its type. Messages never echo what was sent: they end up in the audit record.
 */
export function envelopeProblem(params: unknown): string | null {
  if (kindOf(params) !== 'object') return `Expected the request to be a JSON object, got ${kindOf(params)}.`;
  const envelope = params as Record<string, unknown>;
  if (Object.keys(envelope).some((name) => envelope[name] != null && !PARAMETERS.has(name))) {
    return 'Unexpected parameter in the request: only query, variables, operationName and extensions are allowed.';
  }
  if (typeof envelope.query !== 'string') return `Expected "query" to be a string, got ${kindOf(envelope.query)}.`;
  if (envelope.operationName != null && typeof envelope.operationName !== 'string') {
    return `Expected "operationName" to be a string or null, got ${kindOf(envelope.operationName)}.`;
  }
  for (const name of ['variables', 'extensions']) {
    if (envelope[name] != null && kindOf(envelope[name]) !== 'object') return `Expected "${name}" to be an object or null, got ${kindOf(envelope[name])}.`;
  }
  return null;
}

export type RecordRefusal = (state: RequestState, code: string, reason: string) => Promise<void>;

/**
 * Takes the query and operation name for the request's audit record, from an envelope checked first: a
 * value of another type would be hashed as itself but stored as text. A bad envelope is refused, and the
 * refusal recorded, before anything runs.
 */
export async function captureParams(state: RequestState, params: unknown, recordRefusal: RecordRefusal): Promise<void> {
  const problem = envelopeProblem(params);
  if (problem) {
    await recordRefusal(state, 'BAD_REQUEST', problem);
    throw refusal('BAD_REQUEST', problem);
  }
  const { query, operationName } = params as { query: string; operationName?: string | null };
  state.query = query;
  state.operationName = operationName ?? null;
}
