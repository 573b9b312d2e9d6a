import type { RequestListener } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { type BrokerSecrets, type ConfigIssue, loadBrokerSecrets, type ProjectConfig } from './config/index.ts';
import { DpopGate, loadTokenKeys, type TokenKeys } from './identity/index.ts';
import { corsOriginsFrom, createAgentYoga, type ViewSchemaCache } from './graphql/index.ts';
import { GRAPHQL_PATH } from './graphql/yoga.ts';
import { ZonesInForce } from './agent-controls/zones/index.ts';
import { BaselineMonitor, baselineIntervalFrom, useBaselineGuard } from './agent-controls/baselines/index.ts';
import { type Log, silentLog } from './log.ts';
import { useOfficerRoutes } from './officer/index.ts';
import { type Db, migrate } from './sql/index.ts';
import { Drain } from './http/drain.ts';
import { explorerEnabled, useExplorer } from './http/explorer.ts';
import { type RulesInForce, useHealthRoutes } from './http/health.ts';
import { useTokenKeysRoute } from './http/token-keys-route.ts';
import { useCheckpointKeyRoute } from './http/checkpoint-key-route.ts';
import { type CheckpointSetup, loadCheckpointSetup, startCheckpointing, unappendedCheckpoints } from './audit/provable/index.ts';
import { useProtectedResourceMetadata } from './http/protected-resource.ts';
import { watchRulesFiles } from './config/watch-rules.ts';
import { InForce } from './in-force.ts';
import { completeRulesSetup, readRulesFiles, type RulesSetup } from './rules-setup.ts';
import { buildRulesPipeline, configFollowing, type RulesPipeline, reloadRules } from './rules-pipeline.ts';
import { recordRulesVersion } from './audit/rules-versions.ts';
import { useRulesVersion } from './graphql/plugins/use-rules-version.ts';
import { requestDeadlineFrom } from './http/request-deadline.ts';
import { publicUrlFrom } from './http/public-url.ts';
import { budgetNoteReader } from './mcp/budget-note.ts';
import { MCP_METHODS, MCP_PATH, mcpEndpoint, mcpRequestsIn } from './mcp/http-endpoint.ts';
import { mcpOriginPolicyFrom } from './mcp/http-origins.ts';
import type { KeyholeMetrics } from './ops/metrics.ts';
import { useMetrics } from './ops/metrics-plugin.ts';
import { readAgentControls } from './ops/agent-controls-reader.ts';
import { inRequestSpan, inSpan } from './ops/trace-spans.ts';

/**
 * Everything a broker reads before it touches the database: the project's files, keys and secrets, and its
 * environment settings. Loaded first, so a mistake in any of them stops a start before a database is opened,
 * created or migrated.
 */
export interface BrokerSetup extends RulesSetup {
  tokenKeys: TokenKeys;
  secrets: BrokerSecrets;
  requestDeadlineMs: number;
  corsOrigins: readonly string[];
  baselineIntervalMs: number;
  /** KEYHOLE_PUBLIC_URL: the URL clients address this broker at, when a proxy stands in front. */
  publicUrl: string | undefined;
  /** The audit log's signed checkpoints: how often, their key, and the directory outside the database they go to. */
  checkpoints: CheckpointSetup;
}

export async function loadBrokerSetup(root: string, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BrokerSetup> {
  const read = await readRulesFiles(root, env);
  // In production without a configured token key the broker refuses to start.
  const tokenKeys = await loadTokenKeys(dataDir, env);
  const requestDeadlineMs = requestDeadlineFrom(env.KEYHOLE_REQUEST_DEADLINE_MS);
  const corsOrigins = corsOriginsFrom(env.KEYHOLE_CORS_ORIGINS);
  const baselineIntervalMs = baselineIntervalFrom(env.KEYHOLE_BASELINE_INTERVAL_MS);
  const publicUrl = publicUrlFrom(env.KEYHOLE_PUBLIC_URL);
  const secrets = await loadBrokerSecrets(dataDir, env);
  // In production without a checkpoint key the broker refuses to start, like without a token key.
  const checkpoints = await loadCheckpointSetup(dataDir, env);
  const rules = await completeRulesSetup(root, read, secrets);
  return { ...rules, tokenKeys, secrets, requestDeadlineMs, corsOrigins, baselineIntervalMs, publicUrl, checkpoints };
}

export interface BrokerOptions {
  /** The project directory holding schema/ and masking-rules/. */
  root: string;
  db: Db;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  /** What loadBrokerSetup read, when the caller loaded it before opening the database; else loaded here. */
  setup?: BrokerSetup;
  /** More HTTP routes served before GraphQL (e.g. the CLI hand-over of the server process). */
  routes?: Plugin[];
  /** Problems of the files on disk when `root` is a stored rules version started on instead (shown on /readyz). */
  pendingProblems?: readonly ConfigIssue[];
  /** Prometheus metrics to count into (served by the caller on a port of its own); none when absent. */
  metrics?: KeyholeMetrics;
}

export interface Broker {
  /** The project config in force: after a reload of schema/, the new one (within a request, the one it arrived under). */
  config: ProjectConfig;
  db: Db;
  secrets: BrokerSecrets;
  tokenKeys: TokenKeys;
  /** The compiled views of the rules in force. */
  views: ViewSchemaCache;
  /** The shutdown state: readiness and the GraphQL endpoint refuse while it drains. */
  drain: Drain;
  /** The rules version in force (stored in rules_versions) and any refused edit pending on disk. */
  rules: () => RulesInForce;
  /** Behavioural baselines: evaluates new audit records every KEYHOLE_BASELINE_INTERVAL_MS, or when ticked. */
  baselines: BaselineMonitor;
  /** Serves one HTTP request: `/graphql`, `/livez`, `/readyz`, `/healthz`, the officer routes. */
  fetch: (request: Request) => Promise<Response>;
  /** A Node `http` request listener for the same routes. */
  listener: RequestListener;
  /** Stops background work (the rules watcher, late audit records) and leaves the database open, for a caller that owns it. */
  stop: () => void;
  /** `stop`, then closes the database. */
  close: () => Promise<void>;
}

/** Wires the pipeline stages together over one database. */
export async function createBroker(options: BrokerOptions): Promise<Broker> {
  const env = options.env ?? process.env;
  const log = options.log ?? silentLog;
  const setup = options.setup ?? (await loadBrokerSetup(options.root, options.dataDir, env));
  const { tokenKeys, secrets, requestDeadlineMs } = setup;
  await migrate(options.db);
  const started = await recordRulesVersion(options.db, secrets.auditKey, setup.rules);
  if (started.changed) log({ msg: 'rules version in force changed', rulesVersion: started.id, previous: started.previousId, hash: started.hash });
  // Every rules file reloads live: each request is served under the pipeline in force when it arrived (src/in-force.ts).
  const build = (rules: RulesSetup, version: number) => buildRulesPipeline(rules, version, { subjectKey: secrets.subjectKey, zones: () => zones });
  const pipelines = new InForce<RulesPipeline>(build(setup, started.id));
  const config = configFollowing(pipelines);
  let pending = options.pendingProblems ?? [];
  const rules = (): RulesInForce => ({ version: pipelines.latest.version, hash: pipelines.latest.rules.hash, pending });
  const zones = await ZonesInForce.open({ db: options.db, registry: () => pipelines.current.config.registry, auditKey: secrets.auditKey, log });
  const drain = new Drain();
  const dpop = new DpopGate({
    db: options.db,
    // Read on every proof, so a reload of schema/agents.yaml changes the window too.
    get windowSeconds() {
      return config.registry.tokens.dpopProofWindow;
    },
    publicUrl: setup.publicUrl,
  });
  const baselines = new BaselineMonitor({
    db: options.db,
    config: () => pipelines.current.config,
    auditKey: secrets.auditKey,
    intervalMs: setup.baselineIntervalMs,
    log,
  });
  await baselines.start();
  drain.onFlush(() => baselines.stop());
  const checkpointer = await startCheckpointing(options.db, setup.checkpoints, log);
  const rulesWatcher = watchRulesFiles({
    root: options.root,
    log,
    reload: () =>
      reloadRules({
        root: options.root,
        db: options.db,
        secrets,
        env,
        log,
        pipelines,
        follow: async (next) => {
          await zones.follow(next.config.registry);
          await baselines.follow(next.config);
        },
        build,
        onProblems: (problems) => {
          pending = problems;
        },
      }),
  });
  const budgetNote = budgetNoteReader(options.db, () => pipelines.current.ledger);
  const metrics = options.metrics;
  metrics?.readPoolWith(() => options.db.poolStats?.());
  metrics?.readAgentControlsWith(() => readAgentControls(options.db, config.registry));
  metrics?.readUnappendedCheckpointsWith(() => unappendedCheckpoints(options.db));
  metrics?.readBudgetsWith(async () => {
    // One agent at a time: a scrape holds at most one of the requests' pooled connections.
    const remaining: Array<{ agent: string; epsilon: number }> = [];
    for (const agent of config.registry.agents.keys()) {
      const note = await budgetNote(agent);
      if (note) remaining.push({ agent, epsilon: note.epsilonRemaining });
    }
    return remaining;
  });
  const mcp = mcpEndpoint({
    fetch: async (request) => yoga.fetch(request),
    graphqlPath: GRAPHQL_PATH,
    views: { get: (principal) => pipelines.current.views.get(principal) },
    budgetNote,
    origins: mcpOriginPolicyFrom(env),
  });
  drain.onStop(() => void mcp.close());
  const yoga = createAgentYoga({
    db: options.db,
    registry: config.registry,
    tokenKeys,
    auditKey: secrets.auditKey,
    views: {
      get: (principal) => pipelines.current.views.get(principal),
      writesState: (rootField) => pipelines.current.views.writesState(rootField),
    },
    log,
    routes: [
      // Among the routes, which run before identity and the other gates, so the records of their refusals carry it too.
      useRulesVersion(() => pipelines.current.version),
      useHealthRoutes(options.db, drain, rules),
      useTokenKeysRoute(tokenKeys),
      useCheckpointKeyRoute(setup.checkpoints.key.verifierKey),
      useProtectedResourceMetadata(() => config.registry),
      useOfficerRoutes({
        db: options.db,
        config,
        tokenKeys,
        secrets,
        log,
        requestDeadlineMs,
        drain,
        dpop,
        jurisdictions: () => pipelines.current.jurisdictions,
      }),
      ...(explorerEnabled(env) ? [useExplorer()] : []),
      ...(options.routes ?? []),
    ],
    plugins: [useBaselineGuard(baselines), ...(metrics ? [useMetrics({ metrics, registry: () => config.registry, graphqlPath: GRAPHQL_PATH })] : [])],
    observeAuditBatch: metrics?.observeAuditBatch,
    beforeRecord: (state, tx) => inSpan('keyhole.compliance', () => pipelines.current.complianceGate(state, tx)),
    corsOrigins: setup.corsOrigins,
    requestDeadlineMs,
    drain,
    dpop,
    zoneOf: (agent) => zones.zoneOf(agent),
    agentEndpoint: { path: MCP_PATH, methods: MCP_METHODS, plugin: mcp.plugin, requestsIn: mcpRequestsIn },
  });
  return {
    config,
    db: options.db,
    secrets,
    tokenKeys,
    get views() {
      return pipelines.latest.views;
    },
    drain,
    rules,
    baselines,
    fetch: async (request) => inRequestSpan(async () => pipelines.pin(() => yoga.fetch(request))),
    // Every argument goes on: the HTTP server passes its context third (a body cut off at the size limit, src/http/server.ts).
    listener: (...args) => void inRequestSpan(async () => pipelines.pin(() => (yoga as unknown as (...passed: unknown[]) => Promise<void>)(...args))),
    stop: () => {
      rulesWatcher.close();
      checkpointer.stop();
      zones.stop();
      drain.stop();
      void baselines.stop();
    },
    close: async () => {
      rulesWatcher.close();
      checkpointer.stop();
      zones.stop();
      drain.stop();
      await baselines.stop();
      await options.db.close();
    },
  };
}
