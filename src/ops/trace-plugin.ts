import type { Plugin } from 'graphql-yoga';
import { requestState } from '../request/state.ts';
import { adoptRequestSpan, inSpan, requestSpan, spanUntilDone } from './trace-spans.ts';

/**
 * GraphQL's phases as spans under the request's root span (src/ops/trace-spans.ts): parse, validate and execute,
 * the last the parent of the data statement, masking, DP and HE spans its resolvers make. Installed first, so its
 * execute span wraps graphql-js's own execution and not the audit and transaction stages around it, which have
 * spans of their own. Only names and ids: no document, variable or result is put on a span.
 */
export function useTracing(): Plugin {
  return {
    onRequest({ request }) {
      adoptRequestSpan(requestState(request));
    },
    onParse: () => spanUntilDone('graphql.parse'),
    onValidate: () => spanUntilDone('graphql.validate'),
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => inSpan('graphql.execute', async () => executeFn(args)));
    },
    onResponse({ request, response }) {
      const state = requestState(request);
      const root = requestSpan(state);
      // An unsampled request has no root span: its attributes are not worth computing.
      if (!root) return;
      const attributes: Record<string, string | number> = {
        'http.response.status_code': response.status,
        'keyhole.operation_kind': state.access.operationKind,
      };
      // A verified agent's id is a name from agents.yaml; a claimed one, or an officer's, is never recorded here.
      if (state.principal?.kind === 'agent') attributes['keyhole.agent'] = state.principal.id;
      root.setAttributes(attributes);
    },
  };
}

/** Wraps a plugin's onRequest hook (identity) in a span, the parent of what it does (token checks, revocation reads). */
export function tracedOnRequest(name: string, plugin: Plugin): Plugin {
  const onRequest = plugin.onRequest;
  if (!onRequest) return plugin;
  return { ...plugin, onRequest: (payload) => inSpan(name, async () => onRequest(payload)) };
}
