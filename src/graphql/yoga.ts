import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { AgentRegistry } from '../config/index.ts';
import { AuditBatcher } from '../audit/index.ts';
import { RevocationGate, type TokenKeys } from '../identity/index.ts';
import type { Log } from '../log.ts';
import type { Db } from '../sql/index.ts';
import { auditDraft, refuseRevokedAgents } from './audit-draft.ts';
import { type AuditedExecutionOptions, useAuditedExecution } from './plugins/use-audited-execution.ts';
import { useErrorHygiene } from './plugins/use-error-hygiene.ts';
import { useIdentity } from './plugins/use-identity.ts';
import { useRequestGate } from './plugins/use-request-gate.ts';
import { useRequestLog } from './plugins/use-request-log.ts';
import { requestState, type KeyholeContext } from './request-state.ts';
import type { ViewSchemaCache } from './view-schemas.ts';

export interface AgentYogaOptions {
  db: Db;
  registry: AgentRegistry;
  tokenKeys: TokenKeys;
  auditKey: Uint8Array;
  views: ViewSchemaCache;
  log: Log;
  /** Other HTTP routes served by the same server (health, officer page), answered before GraphQL. */
  routes?: Plugin[];
  /** Extra plugins of later stages, run after identity and before execution. */
  plugins?: Plugin[];
  /** Checks on each successful read before its audit record (compliance). */
  beforeRecord?: AuditedExecutionOptions['beforeRecord'];
}

export const GRAPHQL_PATH = '/graphql';

/** Limits an agent query must stay within (graphql-armor); generous for real use, tight for abuse. */
export const QUERY_LIMITS = { depth: 6, aliases: 15, cost: 5000, tokens: 2000 } as const;

/**
 * graphql-armor throws on rejection by default, which yoga turns into a 200 without a code; reporting the
 * error instead makes it an ordinary validation failure: HTTP 400 with one stable code.
 */
const reportLimit = {
  propagateOnRejection: false,
  exposeLimits: true,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(
        new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'QUERY_LIMIT_EXCEEDED', http: { status: 400, spec: false } } }),
      ),
  ],
};

/** The agents' GraphQL endpoint: identity, a per-view schema, hardening, and audited execution. */
export function createAgentYoga(options: AgentYogaOptions): YogaServerInstance<Record<string, unknown>, KeyholeContext> {
  const revocations = new RevocationGate();
  const settle = refuseRevokedAgents(revocations);
  const batcher = new AuditBatcher(options.db, options.auditKey, { settle });
  const recordRefusal = async (state: ReturnType<typeof requestState>, code: string, reason: string) => {
    try {
      await batcher.append(auditDraft(state, 'denied', code, reason));
      state.audited = true;
    } catch (error) {
      options.log({ level: 'error', msg: 'audit record of a refusal could not be written', requestId: state.requestId, error: String(error) });
    }
  };
  return createYoga<Record<string, unknown>, KeyholeContext>({
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    // Unexpected errors leave as a generic message; the log keeps what happened, never the data involved.
    maskedErrors: {
      maskError(error, message) {
        // Our own refusals pass as they are; anything else is masked, never with details (isDev = false).
        if (maskError(error, message, false) === error) return error as Error;
        options.log({ level: 'error', msg: 'unexpected error', error: String((error as { originalError?: unknown }).originalError ?? error) });
        return new GraphQLError(message, { extensions: { code: 'INTERNAL', http: { status: 500 } } });
      },
    },
    schema: ({ request }) => {
      const state = requestState(request);
      if (state.principal?.kind !== 'agent') throw new Error('identity must run before the schema is chosen');
      const compiled = options.views.get(state.principal);
      state.view = compiled.view;
      return compiled.schema;
    },
    plugins: [
      ...(options.routes ?? []),
      useRequestLog(GRAPHQL_PATH, options.log),
      useRequestGate(GRAPHQL_PATH),
      useIdentity({ graphqlPath: GRAPHQL_PATH, keys: options.tokenKeys, registry: options.registry, db: options.db, revocations, recordRefusal }),
      {
        onParams({ params, request }) {
          const state = requestState(request);
          state.query = params.query ?? null;
          state.operationName = params.operationName ?? null;
        },
      },
      maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
      maxDepthPlugin({ n: QUERY_LIMITS.depth, flattenFragments: true, ...reportLimit }),
      maxAliasesPlugin({ n: QUERY_LIMITS.aliases, ...reportLimit }),
      costLimitPlugin({ maxCost: QUERY_LIMITS.cost, ...reportLimit }),
      blockFieldSuggestionsPlugin(),
      useErrorHygiene(),
      ...(options.plugins ?? []),
      useAuditedExecution({
        db: options.db,
        auditKey: options.auditKey,
        batcher,
        settle,
        log: options.log,
        beforeRecord: options.beforeRecord,
        // DP aggregates (and encrypted ones, which may add DP noise) spend privacy budget: they commit in
        // one transaction with their record.
        writesState: (field) => field.endsWith('_aggregate') || field.endsWith('_encrypted'),
      }),
    ],
  });
}
