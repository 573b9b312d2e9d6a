import { type Context, context, createContextKey, INVALID_SPAN_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestState } from '../request/state.ts';

/**
 * Keyhole's own spans. The tracer is the API's proxy: until the SDK is started (src/ops/tracing.ts) every span is a
 * no-op, so the stages call these helpers unconditionally. Attributes are ids, counts and codes only: never a
 * returned value, an argument, a query text or an error message (any of them may carry personal data).
 */
const tracer = trace.getTracer('keyhole');

/** The root span of each request (src/ops/trace-plugin.ts), for stages that learn something it should carry. */
const roots = new WeakMap<RequestState, Span>();

/**
 * Marks the context of a request the sampler left out. Most requests are (at 10% sampling, nine in ten), so they
 * must cost next to nothing: under this mark Keyhole's helpers start no span and switch no context, and, because the
 * mark also takes the unsampled HTTP span out of the context, the `pg` instrumentation (requireParentSpan) skips
 * every statement and pool checkout instead of building a non-recording span and its attributes for each.
 */
const UNSAMPLED = createContextKey('keyhole.unsampled-request');
const NOT_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function unsampled(): boolean {
  return context.active().getValue(UNSAMPLED) === true;
}

function unsampledContext(): Context {
  return trace.deleteSpan(context.active()).setValue(UNSAMPLED, true);
}

function failed(span: Span, error: unknown): never {
  span.setStatus({ code: SpanStatusCode.ERROR });
  throw error;
}

/** Runs `work`, then ends `span`, marked failed if the work threw. */
async function endingWith<T>(span: Span, work: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await work(span);
  } catch (error) {
    failed(span, error);
  } finally {
    span.end();
  }
}

/** Runs `work` in a span of its own, the parent of every span started inside it. */
export function inSpan<T>(name: string, work: (span: Span) => Promise<T>): Promise<T> {
  if (unsampled()) return work(NOT_RECORDING);
  return tracer.startActiveSpan(name, (span) => endingWith(span, work));
}

/** `inSpan` for synchronous work. */
export function inSpanSync<T>(name: string, work: (span: Span) => T): T {
  if (unsampled()) return work(NOT_RECORDING);
  return tracer.startActiveSpan(name, (span) => {
    try {
      return work(span);
    } catch (error) {
      failed(span, error);
    } finally {
      span.end();
    }
  });
}

/** Starts a span for a stage whose start and end are separate hooks; returns what ends it, or nothing when unsampled. */
export function spanUntilDone(name: string): (() => void) | undefined {
  if (unsampled()) return undefined;
  const span = tracer.startSpan(name);
  return () => span.end();
}

/**
 * Runs one whole request (`serve`) inside its root span, or, when the sampler leaves the request out (its HTTP span,
 * or the root itself, is not recording), in the unsampled context, where nothing below makes a span.
 */
export function inRequestSpan<T>(serve: () => Promise<T>): Promise<T> {
  const parent = trace.getActiveSpan();
  if (parent && !parent.isRecording()) return context.with(unsampledContext(), serve);
  return tracer.startActiveSpan('keyhole.request', (root) => (root.isRecording() ? endingWith(root, serve) : context.with(unsampledContext(), serve)));
}

/** Ties the active span, the request's root, to the request's state. */
export function adoptRequestSpan(state: RequestState): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  roots.set(state, span);
  span.setAttribute('keyhole.request_id', state.requestId);
}

/** The request's root span when the request is traced: callers skip computing attributes for an untraced one. */
export function requestSpan(state: RequestState): Span | undefined {
  return roots.get(state);
}

/** Sets attributes on the request's root span, when it is traced. */
export function noteOnRequest(state: RequestState, attributes: Record<string, string | number>): void {
  roots.get(state)?.setAttributes(attributes);
}
