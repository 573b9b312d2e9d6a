import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/index.ts';
import { startTracing, type Tracing, tracingRequested } from '../../src/ops/tracing.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';

const LOOKUP = 'query Lookup($id: BigInt!) { customers(where: { id: { eq: $id } }) { id full_name email phone postal_code } }';
const DP_COUNT = '{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.5) { groups { count { value } } } }';

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const startOf = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];

/** Drops every span it is asked about, counting them: each one a span something tried to start. */
class CountingDropSampler implements Sampler {
  asked = 0;
  shouldSample() {
    this.asked++;
    return { decision: SamplingDecision.NOT_RECORD };
  }
  toString() {
    return 'CountingDropSampler';
  }
}

describe('OpenTelemetry traces of a request', () => {
  const exporter = new InMemorySpanExporter();
  // The default sampler (parent-based, every root sampled), with a count of the spans started under an unsampled one.
  const underUnsampled = new CountingDropSampler();
  const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler(), localParentNotSampled: underUnsampled });
  let tracing: Tracing | undefined;
  let t: TestDatabase;
  let kh: TestBroker;
  let server: Server;
  let customer: { id: string; full_name: string; email: string; phone: string; national_id: string };
  let spans: ReadableSpan[];

  async function post(token: string, requestId: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const { port } = server.address() as AddressInfo;
    return fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId, ...headers },
      body: JSON.stringify({ query, variables }),
    });
  }

  /** The spans of the one trace whose Keyhole root span carries `requestId`. */
  function traceOf(requestId: string) {
    const root = spans.find((span) => span.name === 'keyhole.request' && span.attributes['keyhole.request_id'] === requestId);
    if (!root) throw new Error(`no root span for ${requestId}`);
    const inTrace = spans.filter((span) => span.spanContext().traceId === root.spanContext().traceId);
    const named = (name: string) => inTrace.filter((span) => span.name === name);
    const one = (name: string) => {
      const found = named(name);
      if (found.length !== 1) throw new Error(`${found.length} spans named ${name}`);
      return found[0]!;
    };
    const parentOf = (span: ReadableSpan) => inTrace.find((candidate) => spanId(candidate) === span.parentSpanContext?.spanId);
    return { root, inTrace, named, one, parentOf };
  }

  beforeAll(async () => {
    tracing = startTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)], sampler });
    t = await createPostgresTestDatabase();
    await seedDemo(t.db, { scale: 0.05 });
    kh = await startTestBroker(t.db);
    server = createServer(kh.broker.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    customer = (
      await t.db.query<typeof customer>("SELECT id::text, full_name, email, phone, national_id FROM customers WHERE residency = 'SG' ORDER BY id LIMIT 1")
    ).rows[0]!;
    const reply = await post(await kh.token('support-bot'), 'trace-read-1', LOOKUP, { id: customer.id });
    expect(reply.status).toBe(200);
    expect(JSON.stringify(await reply.json())).toContain(customer.id);
    expect((await post(await kh.token('analytics-bot'), 'trace-dp-1', DP_COUNT)).status).toBe(200);
    // Let the HTTP server spans of the answers end.
    await new Promise((resolve) => setTimeout(resolve, 200));
    spans = exporter.getFinishedSpans();
  }, 120_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await kh?.close();
    await t?.drop();
    await tracing?.shutdown();
  });

  it('is off unless the OTEL_* variables ask for an exporter', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('makes one trace per request: the HTTP span, then the root span with the request id and the audit seq', async () => {
    const { root, parentOf } = traceOf('trace-read-1');
    expect(parentOf(root)?.kind).toBe(SpanKind.SERVER);
    expect(parentOf(parentOf(root)!)).toBeUndefined();
    const { rows } = await t.db.query<{ seq: number }>('SELECT seq FROM audit_log WHERE request_id = $1', ['trace-read-1']);
    expect(root.attributes).toMatchObject({ 'keyhole.request_id': 'trace-read-1', 'keyhole.audit_seq': Number(rows[0]!.seq), 'keyhole.agent': 'support-bot' });
    expect(traceOf('trace-dp-1').root.spanContext().traceId).not.toBe(root.spanContext().traceId);
  });

  it('has the stages as children of the root in pipeline order, and the data statement and masking under execute', () => {
    const { root, one, inTrace, parentOf } = traceOf('trace-read-1');
    const inTraceNamed = (pattern: RegExp) => inTrace.filter((span) => pattern.test(span.name));
    const stages = ['keyhole.identity', 'graphql.parse', 'graphql.validate', 'graphql.execute', 'keyhole.compliance', 'keyhole.audit.commit'].map(one);
    for (const stage of stages) expect(parentOf(stage)).toBe(root);
    const starts = stages.map(startOf);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    const execute = one('graphql.execute');
    expect(parentOf(one('keyhole.masking'))).toBe(execute);
    const statements = inTraceNamed(/^pg\.query:SELECT\b/);
    expect(statements.some((span) => parentOf(span) === execute && /\bFROM\b[\s\S]*\bcustomers\b/.test(String(span.attributes['db.query.text'])))).toBe(true);
  });

  it('has the DP release under execute, and its record appended in its own transaction with the seq on the root', async () => {
    const { root, one, parentOf } = traceOf('trace-dp-1');
    expect(parentOf(one('keyhole.dp'))).toBe(one('graphql.execute'));
    expect(one('keyhole.audit.append')).toBeDefined();
    const { rows } = await t.db.query<{ seq: number }>('SELECT seq FROM audit_log WHERE request_id = $1', ['trace-dp-1']);
    expect(root.attributes['keyhole.audit_seq']).toBe(Number(rows[0]!.seq));
  });

  it('starts no span at all below a request the sampler left out, not even a non-recording one', async () => {
    const token = await kh.token('support-bot');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    underUnsampled.asked = 0;
    const exportedBefore = exporter.getFinishedSpans().length;
    // The caller's trace context says "not sampled": the parent-based sampler drops the HTTP span, and all below it.
    const reply = await post(token, 'trace-unsampled-1', LOOKUP, { id: customer.id }, { traceparent: `00-${traceId}-00f067aa0ba902b7-00` });
    expect(reply.status).toBe(200);
    expect(JSON.stringify(await reply.json())).toContain(customer.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { rows } = await t.db.query('SELECT seq FROM audit_log WHERE request_id = $1', ['trace-unsampled-1']);
    expect(rows).toHaveLength(1);
    // Nothing recorded: not in the caller's trace, nor in a trace of its own started by a stage that lost its parent.
    expect(exporter.getFinishedSpans().slice(exportedBefore)).toEqual([]);
    expect(underUnsampled.asked).toBe(0);
  });

  it('puts no personal value and no SQL parameter in any span attribute', async () => {
    const { rows } = await t.db.query<Record<string, string>>('SELECT full_name, email, phone, national_id FROM customers');
    const personal = rows.flatMap((row) => Object.values(row));
    expect(personal).toContain(customer.email);
    const attributes = spans.flatMap((span) => Object.entries(span.attributes));
    expect(attributes.length).toBeGreaterThan(50);
    expect(attributes.filter(([key]) => /values|param/i.test(key))).toEqual([]);
    const texts = attributes.map(([key, value]) => `${key}=${JSON.stringify(value)}`);
    expect(texts.filter((text) => personal.some((value) => text.includes(value)))).toEqual([]);
    // The looked-up id went to PostgreSQL as a parameter; only the statement's placeholders are in the trace.
    expect(texts.filter((text) => text.startsWith('db.') && text.includes(customer.id))).toEqual([]);
  });
});
