import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError, ValidationContext } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { ComplianceGate } from '../compliance/index.ts';
import type { AgentDefinition, AgentRegistry, ZoneRules } from '../config/index.ts';
import { AuditBatcher, type AuditBatcherOptions } from '../audit/index.ts';
import { DpopGate, RevocationGate, refuseRevokedAgents, type TokenKeys } from '../identity/index.ts';
import type { Drain } from '../http/drain.ts';
import { isEndpoint, useEndpointOnly } from '../http/endpoint.ts';
import { useAudit } from '../http/plugins/use-audit.ts';
import { useDrainGate } from '../http/plugins/use-drain-gate.ts';
import { useErrorHygiene } from '../http/plugins/use-error-hygiene.ts';
import { useNoParserEcho } from '../http/plugins/use-no-parser-echo.ts';
import { useOperationCapture } from '../http/plugins/use-operation-capture.ts';
import { useRecordEveryResult } from '../http/plugins/use-record-every-result.ts';
import { useRequestGate } from '../http/plugins/use-request-gate.ts';
import { useRequestId } from '../http/plugins/use-request-id.ts';
import { useTransactionScope } from '../http/plugins/use-transaction-scope.ts';
import { refusalRecorder } from '../http/refusal-recorder.ts';
import type { RecordRefusal } from '../request/audit-draft.ts';
import { DEFAULT_REQUEST_DEADLINE_MS } from '../http/request-deadline.ts';
import type { Log } from '../log.ts';
import { tracedOnRequest, useTracing } from '../ops/trace-plugin.ts';
import { ERROR_CODES, refusal } from '../request/refusals.ts';
import { requestState, type KeyholeContext } from '../request/state.ts';
import type { Db } from '../sql/index.ts';
import { useArgumentHygiene } from './plugins/use-argument-hygiene.ts';
import { useBodyLimit } from './plugins/use-body-limit.ts';
import { useComplianceGate } from './plugins/use-compliance-gate.ts';
import { useCors } from './plugins/use-cors.ts';
import { useIdentity } from './plugins/use-identity.ts';
import { useMaxDirectives } from './plugins/use-max-directives.ts';
import { usePrivacySpend } from './plugins/use-privacy-spend.ts';
import { useRateLimit } from './plugins/use-rate-limit.ts';
import { useRequestLog } from './plugins/use-request-log.ts';
import { useUntrustedText } from './plugins/use-untrusted-text.ts';
import { useWithheldNotice } from './plugins/use-withheld-notice.ts';
import type { ViewSchemaCache } from './view-schemas.ts';

export interface AgentYogaOptions {
  db: Db;
  registry: AgentRegistry;
  tokenKeys: TokenKeys;
  auditKey: Uint8Array;
  /** The compiled views, read per request (a broker swaps them as a whole on a rules reload). */
  views: Pick<ViewSchemaCache, 'get' | 'writesState'>;
  log: Log;
  /** Other HTTP routes served by the same server (health, officer page), answered before GraphQL. */
  routes?: Plugin[];
  /** Extra plugins of later stages, run after identity and before execution. */
  plugins?: Plugin[];
  /** Origins whose pages may read answers (KEYHOLE_CORS_ORIGINS, see corsOriginsFrom); none by default. */
  corsOrigins?: readonly string[];
  /** How long one request may execute (KEYHOLE_REQUEST_DEADLINE_MS); DEFAULT_REQUEST_DEADLINE_MS when absent. */
  requestDeadlineMs?: number;
  /** Checks on each successful read before its audit record (compliance). */
  beforeRecord?: ComplianceGate;
  /** The broker's shutdown: requests arriving while it drains are refused, and its flush waits for pending records. */
  drain?: Drain;
  /** DPoP proofs (the broker shares one gate between its endpoints); by default one over `db` without a public URL. */
  dpop?: DpopGate;
  /** The zone an agent is served in now; by default the zone agents.yaml asks for. */
  zoneOf?: (agent: AgentDefinition) => ZoneRules;
  /**
   * Another endpoint for agents on a path of its own (MCP over HTTP, src/mcp/http-endpoint.ts), answered once the
   * request gate, identity, the drain gate and the rate limit have passed a request, so its refusals are GraphQL's,
   * recorded alike.
   */
  agentEndpoint?: {
    path: string;
    methods: readonly string[];
    plugin: (recordRefusal: RecordRefusal) => Plugin;
    /** How many requests one of its requests counts for against the agent's rate limit (counted before it runs). */
    requestsIn: (request: Request) => Promise<number>;
  };
  /** Told of every group commit of audit records (metrics). */
  observeAuditBatch?: AuditBatcherOptions['observe'];
}

export const GRAPHQL_PATH = '/graphql';

/** Limits an agent query must stay within (graphql-armor); generous for real use, tight for abuse. */
export const QUERY_LIMITS = { depth: 6, aliases: 15, directives: 10, cost: 5000, tokens: 2000 } as const;

const queryLimitError = (message: string) =>
  refusal('QUERY_LIMIT_EXCEEDED', message.replace(/^Syntax Error: /, ''), { http: { status: ERROR_CODES.QUERY_LIMIT_EXCEEDED.status, spec: false } });

/**
 * graphql-armor throws on rejection by default, which yoga turns into a 200 without a code; reporting the
 * error instead makes it an ordinary validation failure: HTTP 400 with one stable code.
 */
const reportLimit = {
  propagateOnRejection: false,
  exposeLimits: true,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(queryLimitError(error.message))],
};

/** The agents' GraphQL endpoint: identity, a per-view schema, hardening, and audited execution. */
export function createAgentYoga(options: AgentYogaOptions): YogaServerInstance<Record<string, unknown>, KeyholeContext> {
  const revocations = new RevocationGate();
  const settle = refuseRevokedAgents(revocations);
  const batcher = new AuditBatcher(options.db, options.auditKey, { settle, log: options.log, observe: options.observeAuditBatch });
  options.drain?.onFlush(() => batcher.flush());
  options.drain?.onStop(() => batcher.stop());
  const recordRefusal = refusalRecorder(batcher, options.auditKey, options.log);
  const deadlineMs = options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  const agentEndpoint = options.agentEndpoint;
  const agentPaths = [GRAPHQL_PATH, ...(agentEndpoint ? [agentEndpoint.path] : [])];
  return createYoga<Record<string, unknown>, KeyholeContext>({
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    // useCors instead: yoga's reflects any origin, with credentials, on every route of the server.
    cors: false,
    // yoga answers 200 to every URL that ends in this, before any plugin can route it (`/graphql/health`,
    // `/officer/health`), and it cannot be switched off: a space is never in a URL (it is percent-encoded).
    healthCheckEndpoint: ' ',
    // Unexpected errors leave as a generic message; the log keeps what happened, never the data involved.
    maskedErrors: {
      maskError(error, message) {
        // Our own refusals pass as they are; anything else is masked, never with details (isDev = false).
        if (maskError(error, message, false) === error) return error as Error;
        options.log({ level: 'error', msg: 'unexpected error', error: String((error as { originalError?: unknown }).originalError ?? error) });
        return refusal('INTERNAL', message);
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
      useTracing(),
      useRequestId(),
      useNoParserEcho(),
      useBodyLimit(agentPaths, recordRefusal),
      ...(options.routes ?? []),
      useEndpointOnly(...agentPaths),
      useCors(GRAPHQL_PATH, options.corsOrigins ?? []),
      useRequestLog(GRAPHQL_PATH, options.log),
      useRequestGate({ recordRefusal, otherMethods: (url) => (agentEndpoint && isEndpoint(url, agentEndpoint.path) ? agentEndpoint.methods : []) }),
      tracedOnRequest(
        'keyhole.identity',
        useIdentity({
          keys: options.tokenKeys,
          registry: options.registry,
          db: options.db,
          revocations,
          recordRefusal,
          dpop: options.dpop ?? new DpopGate({ db: options.db, windowSeconds: options.registry.tokens.dpopProofWindow }),
          zoneOf: options.zoneOf ?? ((agent) => options.registry.zones[agent.zone]),
        }),
      ),
      useDrainGate(() => options.drain?.draining ?? false, recordRefusal),
      // Before the other endpoint, so that its requests count too and are refused over the limit before they run.
      useRateLimit({
        db: options.db,
        recordRefusal,
        log: options.log,
        requestsIn: (request, url) => (agentEndpoint && isEndpoint(url, agentEndpoint.path) ? agentEndpoint.requestsIn(request) : 1),
      }),
      ...(agentEndpoint ? [agentEndpoint.plugin(recordRefusal)] : []),
      useRecordEveryResult(recordRefusal),
      useOperationCapture(recordRefusal),
      maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
      maxDepthPlugin({ n: QUERY_LIMITS.depth, flattenFragments: true, ...reportLimit }),
      // `__typename` counts too (graphql-armor exempts it by default): 100 of them are 100 fields resolved.
      maxAliasesPlugin({ n: QUERY_LIMITS.aliases, allowList: [], ...reportLimit }),
      useMaxDirectives({ n: QUERY_LIMITS.directives, error: queryLimitError }),
      costLimitPlugin({ maxCost: QUERY_LIMITS.cost, ...reportLimit }),
      // The hint goes without a trace: its default mark, "[Suggestion hidden]", told agents (and audit reasons) a near name exists.
      blockFieldSuggestionsPlugin({ mask: '' }),
      useErrorHygiene(),
      useArgumentHygiene(),
      ...(options.plugins ?? []),
      // Execution, innermost first: the spend and the compliance gate run on the request's statements, in the
      // transaction scope; the audit records what the scope commits and answers; the notice rides what leaves.
      usePrivacySpend(),
      ...(options.beforeRecord ? [useComplianceGate(options.beforeRecord)] : []),
      useUntrustedText(),
      useTransactionScope({
        db: options.db,
        // Root fields whose extensions declare they write state (DP and HE aggregates spend privacy budget)
        // commit in one transaction with their record.
        writesState: (field) => options.views.writesState(field),
        deadlineMs,
      }),
      useAudit({ auditKey: options.auditKey, batcher, settle, recordRefusal, log: options.log, deadlineMs }),
      useWithheldNotice(),
    ],
  });
}
