import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { type BrokerSecrets, loadBrokerSecrets, loadProjectConfig, type ProjectConfig } from './config/index.ts';
import { loadTokenKeys, type TokenKeys } from './identity/index.ts';
import { corsOriginsFrom, createAgentYoga, dpAggregateExtension, heAggregateExtension, ViewSchemaCache } from './graphql/index.ts';
import { type JurisdictionRules, loadJurisdictionRules, makeComplianceGate, withheldJurisdictions } from './compliance/index.ts';
import { BudgetLedger } from './dp/ledger.ts';
import { ZonesInForce, zonedPrivacy } from './agent-controls/zones/index.ts';
import { BaselineMonitor, baselineIntervalFrom, useBaselineGuard } from './agent-controls/baselines/index.ts';
import { type Log, silentLog } from './log.ts';
import { useOfficerRoutes } from './officer/index.ts';
import { loadMaskingStage, type MaskingStage, watchMaskingRules } from './masking/index.ts';
import { type Db, migrate } from './sql/index.ts';
import { Drain } from './http/drain.ts';
import { useHealthRoutes } from './http/health.ts';
import { requestDeadlineFrom } from './http/request-deadline.ts';

/**
 * Everything a broker reads before it touches the database: the project's files, keys and secrets, and its
 * environment settings. Loaded first, so a mistake in any of them stops a start before a database is opened,
 * created or migrated.
 */
export interface BrokerSetup {
  config: ProjectConfig;
  tokenKeys: TokenKeys;
  secrets: BrokerSecrets;
  masking: MaskingStage;
  jurisdictions: JurisdictionRules;
  requestDeadlineMs: number;
  corsOrigins: readonly string[];
  baselineIntervalMs: number;
}

export async function loadBrokerSetup(root: string, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BrokerSetup> {
  const config = await loadProjectConfig(root);
  // In production without a configured token key the broker refuses to start.
  const tokenKeys = await loadTokenKeys(dataDir, env);
  const requestDeadlineMs = requestDeadlineFrom(env.KEYHOLE_REQUEST_DEADLINE_MS);
  const corsOrigins = corsOriginsFrom(env.KEYHOLE_CORS_ORIGINS);
  const baselineIntervalMs = baselineIntervalFrom(env.KEYHOLE_BASELINE_INTERVAL_MS);
  const secrets = await loadBrokerSecrets(dataDir, env);
  const masking = await loadMaskingStage(root, config, secrets);
  const jurisdictions = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
  return { config, tokenKeys, secrets, masking, jurisdictions, requestDeadlineMs, corsOrigins, baselineIntervalMs };
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
}

export interface Broker {
  config: ProjectConfig;
  db: Db;
  secrets: BrokerSecrets;
  tokenKeys: TokenKeys;
  views: ViewSchemaCache;
  /** The shutdown state: readiness and the GraphQL endpoint refuse while it drains. */
  drain: Drain;
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
  const { config, tokenKeys, secrets, masking, jurisdictions, requestDeadlineMs } = setup;
  await migrate(options.db);
  const zones = await ZonesInForce.open({ db: options.db, registry: config.registry, auditKey: secrets.auditKey, log });
  const drain = new Drain();
  const baselines = new BaselineMonitor({
    db: options.db,
    config,
    auditKey: secrets.auditKey,
    intervalMs: setup.baselineIntervalMs,
    log,
  });
  await baselines.start();
  drain.onFlush(() => baselines.stop());
  const privacy = config.policies.privacy && zonedPrivacy(config.policies.privacy, (agentId) => zones.zoneOfAgent(agentId));
  const ledger = privacy ? new BudgetLedger(privacy, config.catalog.dataset) : null;
  const views = new ViewSchemaCache({
    config,
    subjectKey: secrets.subjectKey,
    decider: masking.decider,
    extensions: [
      dpAggregateExtension({ catalog: config.catalog, ledger }),
      heAggregateExtension({
        lookup: (name) => config.catalog.tables.get(name)!,
        ledger,
      }),
    ],
    withhold: (agent, classes) => withheldJurisdictions(agent, jurisdictions, classes),
    zoneOf: (agent) => zones.zoneOf(agent),
  });
  const rulesWatcher = watchMaskingRules({
    root: options.root,
    config,
    keys: masking.keys,
    version: masking.decider.version,
    log,
    onReload: (decider) => views.setDecider(decider),
  });
  const yoga = createAgentYoga({
    db: options.db,
    registry: config.registry,
    tokenKeys,
    auditKey: secrets.auditKey,
    views,
    log,
    routes: [
      useHealthRoutes(options.db, drain),
      useOfficerRoutes({ db: options.db, config, tokenKeys, secrets, log, requestDeadlineMs, drain }),
      ...(options.routes ?? []),
    ],
    plugins: [useBaselineGuard(baselines)],
    beforeRecord: makeComplianceGate({ rules: jurisdictions, catalog: config.catalog }),
    corsOrigins: setup.corsOrigins,
    requestDeadlineMs,
    drain,
  });
  return {
    config,
    db: options.db,
    secrets,
    tokenKeys,
    views,
    drain,
    baselines,
    fetch: async (request) => yoga.fetch(request),
    listener: yoga as unknown as RequestListener,
    stop: () => {
      rulesWatcher.close();
      zones.stop();
      drain.stop();
      void baselines.stop();
    },
    close: async () => {
      rulesWatcher.close();
      zones.stop();
      drain.stop();
      await baselines.stop();
      await options.db.close();
    },
  };
}
