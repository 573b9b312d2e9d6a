import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestState } from '../request/state.ts';

/**
 * Keyhole's own spans. The tracer is the API's proxy: until the SDK is started (src/ops/tracing.ts) every span is a
 * no-op, so the stages call these helpers unconditionally. Attributes are ids, counts and codes only: never a
 * returned value, an argument, a query text or an error message (any of them may carry personal data).
 */
const tracer = trace.getTracer('keyhole');

/** The root span of each request (src/ops/trace-plugin.ts), for stages that learn something it should carry. */
const roots = new WeakMap<RequestState, Span>();

function failed(span: Span, error: unknown): never {
  span.setStatus({ code: SpanStatusCode.ERROR });
  throw error;
}

/** Runs `work` in a span of its own, the parent of every span started inside it. */
export function inSpan<T>(name: string, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
    } finally {
      span.end();
    }
  });
}

/** `inSpan` for synchronous work. */
export function inSpanSync<T>(name: string, work: (span: Span) => T): T {
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

/** Runs one whole request (`serve`) inside its root span. */
export function inRequestSpan<T>(serve: () => Promise<T>): Promise<T> {
  return inSpan('keyhole.request', serve);
}

/** Ties the active span, the request's root, to the request's state. */
export function adoptRequestSpan(state: RequestState): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  roots.set(state, span);
  span.setAttribute('keyhole.request_id', state.requestId);
}

/** Sets attributes on the request's root span, when it is traced. */
export function noteOnRequest(state: RequestState, attributes: Record<string, string | number>): void {
  roots.get(state)?.setAttributes(attributes);
}
