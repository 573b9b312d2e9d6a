import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { type BrokerSecrets, type ConfigIssue, loadBrokerSecrets, loadProjectConfig, type ProjectConfig } from './config/index.ts';
import { loadTokenKeys, type TokenKeys } from './identity/index.ts';
import { corsOriginsFrom, createAgentYoga, dpAggregateExtension, heAggregateExtension, ViewSchemaCache } from './graphql/index.ts';
import { type JurisdictionRules, loadJurisdictionRules, makeComplianceGate, withheldJurisdictions } from './compliance/index.ts';
import { BudgetLedger } from './dp/ledger.ts';
import { ZonesInForce, zonedPrivacy } from './agent-controls/zones/index.ts';
import { BaselineMonitor, baselineIntervalFrom, useBaselineGuard } from './agent-controls/baselines/index.ts';
import { type Log, silentLog } from './log.ts';
import { useOfficerRoutes } from './officer/index.ts';
import { loadMaskingStage, type MaskingStage, RULES_DIR, watchMaskingRules } from './masking/index.ts';
import { type Db, migrate } from './sql/index.ts';
import { Drain } from './http/drain.ts';
import { explorerEnabled, useExplorer } from './http/explorer.ts';
import { type RulesInForce, useHealthRoutes } from './http/health.ts';
import { readRulesSnapshot, replaceDirectory, type RulesSnapshot } from './config/rules-versions.ts';
import { recordRulesVersion } from './audit/rules-versions.ts';
import { useRulesVersion } from './graphql/plugins/use-rules-version.ts';
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
  /** The files of schema/ and masking-rules/ as read for this start: the rules version the broker starts on. */
  rules: RulesSnapshot;
}

export async function loadBrokerSetup(root: string, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BrokerSetup> {
  const rules = await readRulesSnapshot(root);
  const config = await loadProjectConfig(root);
  // In production without a configured token key the broker refuses to start.
  const tokenKeys = await loadTokenKeys(dataDir, env);
  const requestDeadlineMs = requestDeadlineFrom(env.KEYHOLE_REQUEST_DEADLINE_MS);
  const corsOrigins = corsOriginsFrom(env.KEYHOLE_CORS_ORIGINS);
  const baselineIntervalMs = baselineIntervalFrom(env.KEYHOLE_BASELINE_INTERVAL_MS);
  const secrets = await loadBrokerSecrets(dataDir, env);
  const masking = await loadMaskingStage(root, config, secrets);
  const jurisdictions = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
  return { config, tokenKeys, secrets, masking, jurisdictions, requestDeadlineMs, corsOrigins, baselineIntervalMs, rules };
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
}

export interface Broker {
  config: ProjectConfig;
  db: Db;
  secrets: BrokerSecrets;
  tokenKeys: TokenKeys;
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
  const { config, tokenKeys, secrets, masking, jurisdictions, requestDeadlineMs } = setup;
  await migrate(options.db);
  let rulesSnapshot = setup.rules;
  const started = await recordRulesVersion(options.db, secrets.auditKey, rulesSnapshot);
  let rules: RulesInForce = { version: started.id, hash: started.hash, pending: options.pendingProblems ?? [] };
  // Each masking decider this broker has served under → its stored version (schema/ does not reload, so one each).
  const storedVersionOf = new Map([[masking.decider.version, started.id]]);
  if (started.changed) log({ msg: 'rules version in force changed', rulesVersion: started.id, previous: started.previousId, hash: started.hash });
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
    // The new version is stored and audited before any request is served under it; if that fails, the old one stays.
    onReload: async (decider) => {
      const next = replaceDirectory(rulesSnapshot, RULES_DIR, await readRulesSnapshot(options.root, [RULES_DIR]));
      const recorded = await recordRulesVersion(options.db, secrets.auditKey, next);
      storedVersionOf.set(decider.version, recorded.id);
      views.setDecider(decider);
      rulesSnapshot = next;
      rules = { ...rules, version: recorded.id, hash: recorded.hash };
    },
    onProblems: (pending) => {
      rules = { ...rules, pending };
    },
  });
  const yoga = createAgentYoga({
    db: options.db,
    registry: config.registry,
    tokenKeys,
    auditKey: secrets.auditKey,
    views,
    log,
    routes: [
      // Among the routes, which run before identity and the other gates, so the records of their refusals carry it too.
      useRulesVersion({ inForce: () => rules.version, ofMasking: (maskingVersion) => storedVersionOf.get(maskingVersion) }),
      useHealthRoutes(options.db, drain, () => rules),
      useOfficerRoutes({ db: options.db, config, tokenKeys, secrets, log, requestDeadlineMs, drain }),
      ...(explorerEnabled(env) ? [useExplorer()] : []),
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
    rules: () => rules,
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
