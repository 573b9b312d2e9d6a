import { describe, expect, it } from 'vitest';
import { emptyBaseline, learnRequest, learnWindow, newWindow, requestSummaries } from '../../src/agent-controls/baselines/baseline.ts';
import type { RequestObservation } from '../../src/agent-controls/baselines/observations.ts';
import { anomalyPolicyFor, DEFAULT_ANOMALY_SETTINGS } from '../../src/agent-controls/baselines/policy.ts';
import { type RequestBaseline, scoreRequest, scoreWindow } from '../../src/agent-controls/baselines/scoring.ts';
import type { AnomalyConfig } from '../../src/config/index.ts';

const config = (overrides: Partial<AnomalyConfig> = {}): AnomalyConfig => ({ windowMinutes: 60, roles: {}, agents: {}, ...overrides });
const policy = (overrides: Partial<AnomalyConfig> = {}) =>
  anomalyPolicyFor(config({ minObservations: 20, minWindows: 5, ...overrides }), 'support-bot', 'support');

const NOON = Date.parse('2026-03-02T12:00:00Z');

function request(rows: number, fields: string[] = ['customers.id', 'customers.email'], at = new Date(NOON), epsilon?: number): RequestObservation {
  return {
    at,
    allowed: true,
    refused: false,
    maskedFilterAttempt: false,
    values: {
      rowsPerRequest: rows,
      subjectsPerRequest: rows,
      fieldsPerRequest: fields.length,
      ...(epsilon === undefined ? {} : { epsilonPerRequest: epsilon }),
    },
    fields,
  };
}

/** A baseline that learned `rows` one request each, noon on consecutive days from `firstDay`. */
function learned(rows: readonly number[], firstDay = NOON): RequestBaseline {
  const state = emptyBaseline();
  for (const [i, n] of rows.entries()) learnRequest(state, request(n, undefined, new Date(firstDay + i * 86_400_000)));
  return { ...state, summaries: requestSummaries(state), fields: new Set(['customers.id', 'customers.email']) };
}

const usual = Array.from({ length: 40 }, (_, i) => 1 + (i % 8));

describe('anomaly policies per agent and role', () => {
  it('takes the defaults when policies.yaml says nothing', () => {
    expect(anomalyPolicyFor(config(), 'support-bot', 'support')).toEqual({
      quarantine: false,
      minObservations: DEFAULT_ANOMALY_SETTINGS.minObservations,
      minWindows: DEFAULT_ANOMALY_SETTINGS.minWindows,
      thresholds: expect.objectContaining({ rowsPerRequest: 8, subjectsPerWindow: 8, epsilonPerWindow: 8 }),
      newFields: true,
      unusualHours: { minDays: 14, maxShare: 0 },
    });
  });

  it("lets the agent's own layer win over its role's, and the role's over the file's; a statistic's threshold over its layer's", () => {
    const layered = config({
      threshold: 10,
      quarantine: false,
      roles: { support: { quarantine: true, threshold: 6, thresholds: { rowsPerRequest: 4 } }, kyc: { threshold: 3 } },
      agents: { 'support-bot': { thresholds: { subjectsPerWindow: null }, unusualHours: false } },
    });
    const bot = anomalyPolicyFor(layered, 'support-bot', 'support');
    expect(bot.quarantine).toBe(true);
    expect(bot.thresholds.rowsPerRequest).toBe(4);
    expect(bot.thresholds.rowsPerWindow).toBe(6);
    expect(bot.thresholds.subjectsPerWindow).toBeNull();
    expect(bot.unusualHours).toBeNull();
    const other = anomalyPolicyFor(layered, 'fraud-bot', 'fraud');
    expect(other).toMatchObject({ quarantine: false, thresholds: expect.objectContaining({ rowsPerRequest: 10 }), unusualHours: { minDays: 14, maxShare: 0 } });
  });
});

describe('scoring one request against its baseline', () => {
  it('scores nothing during the cold start, however far out', () => {
    expect(scoreRequest(learned(usual.slice(0, 19)), request(5000, ['customers.phone']), policy())).toEqual([]);
    expect(scoreRequest(learned(usual.slice(0, 20)), request(5000, ['customers.phone']), policy())).not.toEqual([]);
  });

  it('lets the usual shapes through and flags rows, people and fields far out, with what they were compared with', () => {
    const baseline = learned(usual);
    for (const rows of usual) expect(scoreRequest(baseline, request(rows), policy())).toEqual([]);
    const findings = scoreRequest(baseline, request(50, ['customers.id', 'customers.email', 'customers.phone']), policy());
    expect(findings.map((f) => [f.statistic, f.detail])).toEqual([
      ['rowsPerRequest', null],
      ['subjectsPerRequest', null],
      ['newField', 'customers.phone'],
    ]);
    expect(findings[0]).toMatchObject({ kind: 'request', value: 50, baseline: { median: 4.5, mad: 2, observations: 40, zThreshold: 8 } });
    expect(findings[0]!.threshold).toBeCloseTo(4.5 + 8 * 1.4826 * 2, 9);
    expect(findings[0]!.score).toBeCloseTo((50 - 4.5) / (1.4826 * 2), 9);
  });

  it('scores ε only once it has its own cold start of DP requests', () => {
    const state = emptyBaseline();
    for (let i = 0; i < 40; i++) learnRequest(state, request(3, undefined, new Date(NOON), i < 10 ? 0.1 : undefined));
    const baseline = { ...state, summaries: requestSummaries(state), fields: new Set(['customers.id', 'customers.email']) };
    expect(scoreRequest(baseline, request(3, undefined, new Date(NOON), 50), policy())).toEqual([]);
    for (let i = 0; i < 10; i++) learnRequest(state, request(3, undefined, new Date(NOON), 0.1));
    const more = { ...state, summaries: requestSummaries(state), fields: baseline.fields };
    expect(scoreRequest(more, request(3, undefined, new Date(NOON), 50), policy()).map((f) => f.statistic)).toEqual(['epsilonPerRequest']);
  });

  it('switches a statistic off with a null threshold, and new fields with newFields: false', () => {
    const baseline = learned(usual);
    const quiet = policy({ thresholds: { rowsPerRequest: null, subjectsPerRequest: null }, newFields: false });
    expect(scoreRequest(baseline, request(50, ['customers.phone']), quiet)).toEqual([]);
  });

  it('flags an hour of day the agent is never active in, once its requests span minDays', () => {
    const night = (baseline: RequestBaseline) => new Date((baseline.firstObservedAt ?? 0) + 40 * 86_400_000 - 9 * 3600_000);
    const span = learned(usual);
    expect(scoreRequest(span, request(3, undefined, night(span)), policy())).toEqual([
      { kind: 'unusual_hour', statistic: 'unusualHour', value: 0, threshold: 0, score: null, baseline: null, detail: '3:00 UTC' },
    ]);
    const short = learned(usual.slice(0, 20).concat(usual.slice(0, 20)), NOON);
    expect(scoreRequest(short, request(3, undefined, night(span)), policy({ unusualHours: { minDays: 60, maxShare: 0 } }))).toEqual([]);
    expect(scoreRequest(span, request(3, undefined, new Date(NOON + 50 * 86_400_000)), policy())).toEqual([]);
  });

  it('never scores a refused request (its record returned nothing)', () => {
    expect(scoreRequest(learned(usual), { ...request(5000, ['customers.phone']), allowed: false, refused: true }, policy())).toEqual([]);
  });
});

describe('scoring a window against the windows learned', () => {
  const quiet = () => {
    const state = emptyBaseline();
    for (let i = 0; i < 10; i++) {
      learnWindow(state, {
        ...newWindow(i * 3600_000),
        requests: 30 + (i % 5),
        rows: 90 + i,
        subjects: 40 + (i % 7),
        refusals: i % 2,
        maskedFilterAttempts: 0,
        epsilon: 0,
      });
    }
    return state;
  };

  it('flags a window under way as soon as it is past the threshold, once per statistic per window', () => {
    const state = quiet();
    const harvest = { ...newWindow(20 * 3600_000), requests: 34, rows: 95, subjects: 400 };
    const found = scoreWindow(state, harvest, policy());
    expect(found.map((f) => f.statistic)).toEqual(['subjectsPerWindow']);
    expect(scoreWindow(state, { ...harvest, raised: ['subjectsPerWindow'] }, policy())).toEqual([]);
    expect(scoreWindow(state, { ...newWindow(21 * 3600_000), requests: 33, rows: 99, subjects: 45 }, policy())).toEqual([]);
  });

  it('waits for minWindows windows with activity, and never learns an empty or tainted one', () => {
    const state = quiet();
    learnWindow(state, newWindow(99 * 3600_000));
    learnWindow(state, { ...newWindow(100 * 3600_000), requests: 900, tainted: true });
    expect(state.windowsLearned).toBe(10);
    expect(state.windows.requestsPerWindow).toHaveLength(10);
    expect(scoreWindow(state, { ...newWindow(0), requests: 5000 }, policy({ minWindows: 11 }))).toEqual([]);
    expect(scoreWindow(state, { ...newWindow(0), maskedFilterAttempts: 20 }, policy()).map((f) => f.statistic)).toEqual(['maskedFilterAttemptsPerWindow']);
  });
});
