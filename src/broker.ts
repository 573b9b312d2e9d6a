import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { type BrokerSecrets, loadBrokerSecrets, loadProjectConfig, type ProjectConfig } from './config/index.ts';
import { loadTokenKeys, type TokenKeys } from './identity/index.ts';
import { createAgentYoga, requestDeadlineFrom } from './graphql/yoga.ts';
import { corsOriginsFrom } from './graphql/plugins/use-cors.ts';
import { ViewSchemaCache } from './graphql/view-schemas.ts';
import { loadJurisdictionRules, makeComplianceGate, withheldJurisdictions } from './compliance/index.ts';
import { dpAggregateExtension } from './dp/graphql.ts';
import { BudgetLedger } from './dp/ledger.ts';
import { heAggregateExtension } from './he/graphql.ts';
import { type Log, silentLog } from './log.ts';
import { useOfficerRoutes } from './officer/index.ts';
import { loadMaskingStage, watchMaskingRules } from './masking/index.ts';
import { type Db, migrate } from './sql/index.ts';

export interface BrokerOptions {
  /** The project directory holding schema/ and masking-rules/. */
  root: string;
  db: Db;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  /** More HTTP routes served before GraphQL (e.g. the CLI hand-over of the server process). */
  routes?: Plugin[];
}

export interface Broker {
  config: ProjectConfig;
  db: Db;
  secrets: BrokerSecrets;
  tokenKeys: TokenKeys;
  views: ViewSchemaCache;
  /** Serves one HTTP request: `/graphql`, `/healthz`. */
  fetch: (request: Request) => Promise<Response>;
  /** A Node `http` request listener for the same routes. */
  listener: RequestListener;
  /** Stops background work (the rules watcher) and leaves the database open, for a caller that owns it. */
  stop: () => void;
  /** `stop`, then closes the database. */
  close: () => Promise<void>;
}

function useHealthRoute(db: Db): Plugin {
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname !== '/healthz') return;
      const started = performance.now();
      try {
        await db.query('SELECT 1');
        endResponse(Response.json({ status: 'ok', database: db.kind, latencyMs: Math.round(performance.now() - started) }));
      } catch {
        endResponse(Response.json({ status: 'unavailable', database: db.kind }, { status: 503 }));
      }
    },
  };
}

/** Wires the pipeline stages together over one database. */
export async function createBroker(options: BrokerOptions): Promise<Broker> {
  const env = options.env ?? process.env;
  const log = options.log ?? silentLog;
  const config = await loadProjectConfig(options.root);
  // First of the keys: in production without a configured token key the broker refuses to start, before it migrates anything.
  const tokenKeys = await loadTokenKeys(options.dataDir, env);
  const requestDeadlineMs = requestDeadlineFrom(env.KEYHOLE_REQUEST_DEADLINE_MS);
  await migrate(options.db);
  const secrets = await loadBrokerSecrets(options.dataDir, env);
  const masking = await loadMaskingStage(options.root, config, secrets);
  const jurisdictions = await loadJurisdictionRules(join(options.root, 'schema', 'jurisdictions'));
  const ledger = config.policies.privacy ? new BudgetLedger(config.policies.privacy, config.catalog.dataset) : null;
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
    routes: [useHealthRoute(options.db), useOfficerRoutes({ db: options.db, config, tokenKeys, secrets, log, requestDeadlineMs }), ...(options.routes ?? [])],
    beforeRecord: makeComplianceGate({ rules: jurisdictions, catalog: config.catalog }),
    corsOrigins: corsOriginsFrom(env.KEYHOLE_CORS_ORIGINS),
    requestDeadlineMs,
  });
  return {
    config,
    db: options.db,
    secrets,
    tokenKeys,
    views,
    fetch: async (request) => yoga.fetch(request),
    listener: yoga as unknown as RequestListener,
    stop: () => rulesWatcher.close(),
    close: async () => {
      rulesWatcher.close();
      await options.db.close();
    },
  };
}
