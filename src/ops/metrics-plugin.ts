import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AgentRegistry } from '../config/index.ts';
import { isEndpoint } from '../http/endpoint.ts';
import { refusalCodeOf } from '../request/refusal-response.ts';
import { errorCodeOf } from '../request/refusals.ts';
import { requestState } from '../request/state.ts';
import { agentLabel, OK_OUTCOME, operationLabel, outcomeLabel, purposeLabel } from './metrics-labels.ts';
import type { KeyholeMetrics } from './metrics.ts';

export interface MetricsPluginOptions {
  metrics: KeyholeMetrics;
  /** The registry in force, read per request (a reload may add or remove agents). */
  registry: () => Pick<AgentRegistry, 'agents'>;
  graphqlPath: string;
}

/**
 * Counts every answer of the GraphQL endpoint once it leaves: its labels, its time, its refusal code, the ε it
 * released and the time of an encrypted aggregate. An MCP tool call is counted as the GraphQL request it makes.
 * Reads what other stages left in the request's state; changes nothing.
 */
export function useMetrics({ metrics, registry, graphqlPath }: MetricsPluginOptions): Plugin {
  /** The first error's code of a GraphQL result, which names the refusal the whole answer is. */
  const resultCodes = new WeakMap<Request, string | undefined>();
  return {
    onResultProcess({ request, result }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      const error = (result as ExecutionResult).errors?.[0];
      resultCodes.set(request, error ? (errorCodeOf(error) ?? 'INTERNAL') : undefined);
    },
    onResponse({ request, response }) {
      if (!isEndpoint(new URL(request.url), graphqlPath)) return;
      const state = requestState(request);
      const seconds = (performance.now() - state.startedAt) / 1000;
      const code = refusalCodeOf(response) ?? (resultCodes.has(request) ? resultCodes.get(request) : response.ok ? undefined : 'INTERNAL');
      const agents = registry();
      const outcome = outcomeLabel(code);
      const agent = agentLabel(state.principal, agents);
      const operation = operationLabel(state.access.operationKind);
      metrics.observeRequest({ agent, purpose: purposeLabel(state.principal, agents), operation, outcome }, seconds);
      if (outcome !== OK_OUTCOME) metrics.refusals.inc({ code: outcome });
      if (operation === 'encrypted_aggregate') metrics.heAggregateSeconds.observe({ outcome }, seconds);
      const spent = state.access.privacyCost;
      if (outcome === OK_OUTCOME && spent && !spent.replayed && spent.epsilon > 0) metrics.epsilonSpent.inc({ agent }, spent.epsilon);
    },
  };
}
