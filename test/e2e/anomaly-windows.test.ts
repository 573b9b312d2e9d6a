import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateNewRecords, listAnomalies, listQuarantines } from '../../src/agent-controls/baselines/index.ts';
import { anomalyPolicyFor } from '../../src/agent-controls/baselines/policy.ts';
import { appendAuditRecords } from '../../src/audit/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

// The evaluator over audit records written at chosen times: windows of an hour without waiting for hours. A "quiet"
// harvester keeps every request to its usual size and fields, and is caught by its window alone.

const HOUR = 3600_000;
const KEY = new Uint8Array(32).fill(3);
const FIELDS = [
  { table: 'customers', field: 'id', mask: 'clear' },
  { table: 'customers', field: 'full_name', mask: 'clear' },
];
const config = { windowMinutes: 60, roles: {}, agents: {}, minObservations: 30, minWindows: 6 };
const policies = new Map([
  ['support-bot', anomalyPolicyFor({ ...config, roles: { support: { quarantine: true } } }, 'support-bot', 'support')],
  ['fraud-bot', anomalyPolicyFor(config, 'fraud-bot', 'fraud')],
]);
const options = { auditKey: KEY, policies, windowMs: HOUR, batchSize: 500 };

let subject = 0;
/** One answered request of `agent` at `at` returning `rows` customers, people the desk sees again and again unless `fresh`. */
function answered(agent: string, purpose: string, at: number, rows: number, fresh = false) {
  const subjects = new Map(Array.from({ length: rows }, () => [`customer:${fresh ? 10_000 + subject++ : subject++ % 25}`, 'SG'] as [string, string]));
  return auditDraft({ recordedAt: new Date(at), actorId: agent, purpose, tables: ['customers'], fields: FIELDS, rowCount: rows, subjects });
}

/** `hours` hours of `perHour` usual requests (1 to 4 rows), starting at `from`. */
function usualHours(agent: string, purpose: string, from: number, hours: number, perHour = 8) {
  return Array.from({ length: hours * perHour }, (_, i) =>
    answered(agent, purpose, from + Math.floor(i / perHour) * HOUR + (i % perHour) * 60_000, 1 + (i % 4)),
  );
}

describe.each(ENGINES)('the baseline evaluator on $engine', ({ create }) => {
  let t: TestDatabase;
  const start = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR;
  const write = (drafts: ReturnType<typeof auditDraft>[]) => t.db.transaction((tx) => appendAuditRecords(tx, KEY, drafts));

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
  });
  afterAll(async () => t?.drop());

  it('learns ten quiet hours of two agents without an anomaly, one window under way each', async () => {
    await write([...usualHours('support-bot', 'customer_service', start, 10), ...usualHours('fraud-bot', 'fraud_detection', start, 10)]);
    const evaluation = await evaluateNewRecords(t.db, options);
    expect(evaluation).toMatchObject({ records: 160, anomalies: [] });
    const { rows } = await t.db.query<{ agent_id: string; state: { observations: number; windowsLearned: number } }>(
      'SELECT agent_id, state FROM agent_baselines ORDER BY agent_id',
    );
    expect(rows.map((r) => [r.agent_id, r.state.observations, r.state.windowsLearned])).toEqual([
      ['fraud-bot', 80, 9],
      ['support-bot', 80, 9],
    ]);
    // Only the window under way keeps its people.
    const kept = await t.db.query<{ agent_id: string; window_start: Date }>(
      'SELECT DISTINCT agent_id, window_start FROM agent_window_subjects ORDER BY agent_id',
    );
    expect(kept.rows).toEqual([
      { agent_id: 'fraud-bot', window_start: new Date(start + 9 * HOUR) },
      { agent_id: 'support-bot', window_start: new Date(start + 9 * HOUR) },
    ]);
  });

  it('catches a harvester that keeps every request usual by its window, before the window ends', async () => {
    const at = start + 11 * HOUR;
    await write(Array.from({ length: 40 }, (_, i) => answered('support-bot', 'customer_service', at + i * 10_000, 1 + (i % 4), true)));
    const evaluation = await evaluateNewRecords(t.db, options);
    expect(evaluation!.anomalies.map((a) => a.statistic).sort()).toEqual(['requestsPerWindow', 'rowsPerWindow', 'subjectsPerWindow']);
    const subjects = evaluation!.anomalies.find((a) => a.statistic === 'subjectsPerWindow')!;
    expect(subjects).toMatchObject({
      kind: 'window',
      agentId: 'support-bot',
      value: 100,
      quarantines: true,
      windowStart: new Date(at),
      windowEnd: new Date(at + HOUR),
    });
    expect(subjects.threshold!).toBeLessThan(100);
    expect((await listQuarantines(t.db)).map((q) => q.agentId)).toEqual(['support-bot']);
    // Its own audit record, under the detector.
    const { rows } = await t.db.query<{ actor_id: string; operation_kind: string; details: { statistic: string } }>(
      'SELECT actor_id, operation_kind, details FROM audit_log WHERE seq = $1',
      [subjects.recordSeq],
    );
    expect(rows[0]).toMatchObject({ actor_id: 'anomaly-detector', operation_kind: 'anomaly', details: { statistic: 'subjectsPerWindow' } });
  });

  it('counts nothing of a quarantined agent as normal, and raises nothing more about it', async () => {
    const state = async () =>
      (await t.db.query<{ state: { observations: number; windowsLearned: number } }>("SELECT state FROM agent_baselines WHERE agent_id = 'support-bot'"))
        .rows[0]!.state;
    // The harvest's requests were each usual, and learned as such before their window stood out; its window was not.
    expect(await state()).toMatchObject({ observations: 120, windowsLearned: 10 });
    const at = start + 11 * HOUR + 30 * 60_000;
    const refusals = Array.from({ length: 30 }, (_, i) =>
      auditDraft({
        recordedAt: new Date(at + i),
        actorId: 'support-bot',
        purpose: 'customer_service',
        decision: 'pending_approval',
        code: 'APPROVAL_REQUIRED',
      }),
    );
    await write([...Array.from({ length: 20 }, (_, i) => answered('support-bot', 'customer_service', at + i * 1000, 60, true)), ...refusals]);
    await write(usualHours('support-bot', 'customer_service', start + 12 * HOUR, 2));
    expect((await evaluateNewRecords(t.db, options))!.anomalies).toEqual([]);
    expect(await listAnomalies(t.db, { agent: 'support-bot' })).toHaveLength(3);
    expect(await state()).toMatchObject({ observations: 120, windowsLearned: 10 });
  });

  it('only reports an agent whose policy does not quarantine, once per window, and hands the log to one evaluator at a time', async () => {
    const at = start + 11 * HOUR;
    await write(Array.from({ length: 40 }, (_, i) => answered('fraud-bot', 'fraud_detection', at + i * 10_000, 3, true)));
    const both = await Promise.all([evaluateNewRecords(t.db, options), evaluateNewRecords(t.db, options)]);
    // One read the 40 records; the other found the cursor taken (null), or (PGlite: one transaction at a time) only
    // the anomalies' own records after them.
    expect(both.map((e) => e?.records ?? 0).sort((a, b) => a - b)[1]).toBe(40);
    const fraud = async () =>
      (await t.db.query<{ state: { current: { requests: number } } }>("SELECT state FROM agent_baselines WHERE agent_id = 'fraud-bot'")).rows[0]!.state;
    expect((await fraud()).current.requests).toBe(40);
    const raised = both.flatMap((e) => e?.anomalies ?? []);
    expect(raised.map((a) => [a.agentId, a.kind, a.quarantines])).toEqual(Array(raised.length).fill(['fraud-bot', 'window', false]));
    expect(raised.length).toBeGreaterThan(0);
    expect((await listQuarantines(t.db)).map((q) => q.agentId)).toEqual(['support-bot']);

    await write(Array.from({ length: 40 }, (_, i) => answered('fraud-bot', 'fraud_detection', at + 30 * 60_000 + i * 1000, 3, true)));
    expect((await evaluateNewRecords(t.db, options))!.anomalies).toEqual([]);
    expect((await fraud()).current.requests).toBe(80);
    expect(await listAnomalies(t.db, { agent: 'fraud-bot' })).toHaveLength(raised.length);
    await evaluateNewRecords(t.db, options);
    const { rows } = await t.db.query('SELECT (SELECT seq FROM agent_baseline_cursor) = (SELECT seq FROM audit_head) AS caught_up');
    expect(rows[0]).toEqual({ caught_up: true });
  });
});
