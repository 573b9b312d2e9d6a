import { createRequire } from 'node:module';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * Traces are on when the standard OpenTelemetry variables ask for an exporter (OTEL_TRACES_EXPORTER other than
 * `none`, or an OTLP endpoint), and OTEL_SDK_DISABLED does not turn the SDK off. Off by default.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() ?? '';
  if (exporter !== '') return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export interface Tracing {
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env: NodeJS.ProcessEnv;
  /** Where spans go instead of the exporter the OTEL_* variables name (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** The sampler instead of the one OTEL_TRACES_SAMPLER names (tests: one that counts its decisions). */
  sampler?: Sampler;
}

/**
 * Starts the OpenTelemetry SDK (exporter, sampler, service name and resource from the OTEL_* variables) with the
 * HTTP server and `pg` instrumentations, or returns undefined when tracing is off. The `pg` spans carry the
 * statement text, which is always parameterised here, and never the parameters' values.
 */
export function startTracing({ env, spanProcessors, sampler }: TracingOptions): Tracing | undefined {
  if (!spanProcessors && !tracingRequested(env)) return undefined;
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'keyhole',
    instrumentations: [
      new HttpInstrumentation({
        // An outgoing call (a JWKS or OIDC fetch) is traced only inside a sampled request: an unsampled request's
        // context carries no span (src/ops/trace-spans.ts), and a call there must not start a trace of its own.
        requireParentforOutgoingSpans: true,
      }),
      new PgInstrumentation({
        // Explicitly off (also the default): on, every statement's parameters would be copied into its span.
        enhancedDatabaseReporting: false,
        // A statement outside any request (a background job) starts no trace of its own.
        requireParentSpan: true,
        addSqlCommenterCommentToQueries: false,
      }),
    ],
    ...(spanProcessors ? { spanProcessors } : {}),
    ...(sampler ? { sampler } : {}),
  });
  sdk.start();
  // The broker's modules, `pg` and `http` among them, were loaded before the SDK started: the instrumentations
  // patch a module when it is next required, and both patch shared prototypes, which the loaded copies use too.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('pg');
  return { shutdown: () => sdk.shutdown() };
}
