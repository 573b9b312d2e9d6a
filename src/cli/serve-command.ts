import type { Command } from 'commander';
import { ConfigError } from '../config/index.ts';
import { createLog } from '../log.ts';
import { serveBroker } from '../main.ts';
import { useCliAdminRoute, writeAdminToken } from './admin.ts';
import { buildBrokerProgram } from './broker-commands.ts';
import { CliError } from './context.ts';
import { runProgram } from './run.ts';

/** A start that fails says why in one line (a config error: every issue, each with file, line and field), no stack. */
function cannotStart(error: unknown): never {
  const message = error instanceof ConfigError ? `configuration error:\n${error.message}` : error instanceof Error ? error.message : String(error);
  throw new CliError(`cannot start: ${message}`);
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description("Run the broker: the agents' GraphQL endpoint, the officer dashboard and health checks, on PORT")
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (same as KEYHOLE_METRICS_PORT)')
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  PORT                          the port to listen on (default 4000)\n' +
        '  DATABASE_URL                  PostgreSQL to serve (default: embedded PGlite under KEYHOLE_DATA_DIR, created and seeded\n' +
        '                                with the demo world on first start)\n' +
        '  KEYHOLE_REQUEST_DEADLINE_MS   how long one request may run (default 10000)\n' +
        '  KEYHOLE_CORS_ORIGINS          origins whose pages may read answers (default none)\n' +
        "  KEYHOLE_BASELINE_INTERVAL_MS  how often agents' behaviour is checked against their baselines (default 250; 0: never)\n" +
        '  KEYHOLE_EXPLORER               the query explorer at /explorer: on or off (default on, off when NODE_ENV=production)\n' +
        '  KEYHOLE_START_ON_LAST_VALID_RULES=1  with an invalid schema/ or masking-rules/ file on disk, start on the last valid\n' +
        '                                rules version stored in the database (said in the log and on /readyz) instead of refusing\n' +
        '  KEYHOLE_MAX_BODY_BYTES, KEYHOLE_HEADERS_TIMEOUT_MS, KEYHOLE_REQUEST_TIMEOUT_MS, KEYHOLE_KEEP_ALIVE_TIMEOUT_MS,\n' +
        '  KEYHOLE_MAX_CONNECTIONS, KEYHOLE_SHUTDOWN_DEADLINE_MS   HTTP limits (README, HTTP)\n' +
        "  KEYHOLE_METRICS_PORT          serve Prometheus metrics at /metrics on this port, never on the agents' (default off)\n" +
        '  KEYHOLE_CHECKPOINT_PRIVATE_KEY  the Ed25519 key (PKCS#8 PEM) signing audit checkpoints (required when NODE_ENV=production);\n' +
        '  KEYHOLE_CHECKPOINT_EVERY_RECORDS, _EVERY_SECONDS, _DIR, _ORIGIN  when and where they go (docs/officers.md)\n' +
        '  KEYHOLE_CHECKPOINT_S3=s3://bucket/prefix  the production sink: an S3-compatible bucket under object lock, with\n' +
        '                                _S3_ENDPOINT, _S3_REGION, _RETAIN_DAYS (2557), _LOCK_MODE (COMPLIANCE) and AWS_* credentials\n' +
        '  OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER…  OpenTelemetry traces (default off;\n' +
        '                                docs/operations.md)\n' +
        '\nSIGINT or SIGTERM drains: requests in flight finish (up to KEYHOLE_SHUTDOWN_DEADLINE_MS), then it exits.\n' +
        "While it holds the embedded database, operators' commands (agents, audit, report, …) are handed to it.",
    )
    .action(async (options: { metricsPort?: string }) => {
      await serveBroker({
        env: options.metricsPort === undefined ? process.env : { ...process.env, KEYHOLE_METRICS_PORT: options.metricsPort },
        log: createLog(),
        // CLI commands run while this process holds the embedded database are handed to it (admin.ts).
        routes: async ({ root, dataDir, db, where, broker }) => [
          useCliAdminRoute({
            token: await writeAdminToken(dataDir),
            runCli: (argv) => runProgram(buildBrokerProgram(), argv),
            context: () => ({ root, dataDir, config: broker().config, secrets: broker().secrets, db, where }),
          }),
        ],
      }).catch(cannotStart);
    });
}
