import { describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/agent-controls/baselines/baseline.ts';
import { observeRecord } from '../../src/agent-controls/baselines/observations.ts';
import { finishPair, observePair, type PairContext, type PairRecord } from '../../src/agent-controls/baselines/pair-evaluation.ts';
import { anomalyPolicyFor } from '../../src/agent-controls/baselines/policy.ts';

const HOUR = 3600_000;
const START = Date.parse('2026-03-02T08:00:00Z');
const policy = anomalyPolicyFor({ windowMinutes: 60, roles: {}, agents: {}, minObservations: 30, minWindows: 4 }, 'support-bot', 'support');
const USUAL = ['customers.id', 'customers.full_name', 'customers.email'];

let seq = 0;
function record(at: number, rows: number, options: { fields?: string[]; decision?: string; code?: string; subjects?: string[] } = {}): PairRecord {
  seq += 1;
  const fields = (options.fields ?? USUAL).map((key) => ({ table: key.split('.')[0]!, field: key.split('.')[1]! }));
  const subjects = options.subjects ?? Array.from({ length: rows }, (_, i) => `s${(seq * 7 + i) % 40}`);
  const observation = observeRecord({
    recorded_at: new Date(at),
    decision: options.decision ?? 'allowed',
    code: options.code ?? null,
    row_count: rows,
    fields,
    subject_count: subjects.length,
    privacy_cost: null,
  });
  return { seq, requestId: `r${seq}`, observation, subjects };
}

const context = (overrides: Partial<PairContext> = {}): PairContext => ({
  policy,
  windowMs: HOUR,
  fields: new Set(),
  quarantined: false,
  openAnomalies: 0,
  ...overrides,
});

/** Ten normal requests per hour for `hours` hours from START: a support desk looking customers up. */
function normalHours(hours: number): PairRecord[] {
  return Array.from({ length: hours * 10 }, (_, i) => record(START + Math.floor(i / 10) * HOUR + (i % 10) * 60_000, 1 + (i % 4)));
}

/** Evaluates in one go, counting each window's distinct subjects as agent_window_subjects would. */
function evaluate(state = emptyBaseline(), records: PairRecord[], ctx = context(), counted = new Map<number, Set<string>>()) {
  const observed = observePair(state, records, ctx);
  const fresh = new Map<number, number>();
  for (const [start, subjects] of observed.subjects) {
    const known = counted.get(start) ?? new Set();
    fresh.set(start, [...subjects].filter((s) => !known.has(s)).length);
    for (const s of subjects) known.add(s);
    counted.set(start, known);
  }
  return { state, observed, findings: [...observed.findings, ...finishPair(state, observed, fresh, ctx)] };
}

describe('evaluating an agent under one purpose, record by record', () => {
  it('learns a normal day without an anomaly, and every field it uses', () => {
    const ctx = context();
    const { state, findings, observed } = evaluate(undefined, normalHours(6), ctx);
    expect(findings).toEqual([]);
    expect(state.observations).toBe(60);
    expect(state.windowsLearned).toBe(5);
    expect(state.current?.start).toBe(START + 5 * HOUR);
    expect(state.current?.requests).toBe(10);
    expect([...ctx.fields]).toEqual(USUAL);
    expect(observed.newFields.map((f) => f.field)).toEqual(USUAL);
  });

  it('catches a harvest at its first request and stops learning from then on', () => {
    const ctx = context();
    const { state } = evaluate(undefined, normalHours(6), ctx);
    const at = START + 6 * HOUR;
    const harvest = Array.from({ length: 5 }, (_, i) =>
      record(at + i * 1000, 50, { fields: [...USUAL, 'customers.phone'], subjects: Array.from({ length: 50 }, (_, j) => `h${i * 50 + j}`) }),
    );
    const { findings } = evaluate(state, harvest, ctx);
    const first = harvest[0]!.seq;
    expect(findings.filter((f) => f.seq === first).map((f) => [f.statistic, f.detail])).toEqual([
      ['rowsPerRequest', null],
      ['subjectsPerRequest', null],
      ['newField', 'customers.phone'],
    ]);
    // The field is new once; the window of 250 people against ~30 learned is one window anomaly.
    expect(findings.filter((f) => f.statistic === 'newField')).toHaveLength(1);
    expect(findings.filter((f) => f.kind === 'window').map((f) => [f.statistic, f.windowStart])).toEqual([
      ['rowsPerWindow', at],
      ['subjectsPerWindow', at],
    ]);
    expect(state.observations).toBe(60);
    expect(state.current).toMatchObject({ start: at, tainted: true, subjects: 250 });
  });

  it('learns nothing, and scores nothing, while the agent is quarantined; its window is never learned', () => {
    const ctx = context();
    const { state } = evaluate(undefined, normalHours(6), ctx);
    const at = START + 6 * HOUR;
    const quarantined = evaluate(state, [record(at, 50, { fields: ['customers.phone'] }), record(at + 1, 2)], { ...ctx, quarantined: true });
    expect(quarantined.findings).toEqual([]);
    expect(state.observations).toBe(60);
    expect(ctx.fields.has('customers.phone')).toBe(false);
    evaluate(state, [record(at + HOUR, 2)], ctx);
    expect(state.windowsLearned).toBe(6);
    expect(state.windows.rowsPerWindow).not.toContain(52);
  });

  it('still scores, but learns nothing, while an anomaly is open', () => {
    const ctx = context();
    const { state } = evaluate(undefined, normalHours(6), ctx);
    const { findings } = evaluate(state, [record(START + 6 * HOUR, 2), record(START + 6 * HOUR + 1, 90)], { ...ctx, openAnomalies: 1 });
    expect(findings.map((f) => f.statistic)).toEqual(['rowsPerRequest', 'subjectsPerRequest', 'rowsPerWindow']);
    expect(state.observations).toBe(60);
  });

  it('counts a record drafted before the window under way in that window, and refusals and masked-field probes too', () => {
    const { state } = evaluate(undefined, normalHours(2), context());
    const now = START + 2 * HOUR;
    evaluate(state, [
      record(now, 1),
      record(now - 30 * 60_000, 2),
      record(now + 1, 0, { decision: 'denied', code: 'MASKED_FIELD_FILTER' }),
      record(now + 2, 0, { decision: 'pending_approval', code: 'APPROVAL_REQUIRED' }),
    ]);
    expect(state.current).toMatchObject({ start: now, requests: 4, rows: 3, refusals: 2, maskedFilterAttempts: 1 });
  });

  it('flags a probe of masked fields by its window, though neither its requests nor their rate stand out', () => {
    const ctx = context();
    const { state } = evaluate(undefined, normalHours(6), ctx);
    const at = START + 6 * HOUR;
    const probes = Array.from({ length: 12 }, (_, i) => record(at + i * 1000, 0, { decision: 'denied', code: 'MASKED_FIELD_FILTER' }));
    expect(evaluate(state, probes, ctx).findings.map((f) => f.statistic)).toEqual(['denialsPerWindow', 'maskedFilterAttemptsPerWindow']);
  });
});
