import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditDraft, appendAuditRecords, type FieldAccess, knownReach, planPrune, pruneAuditLog } from '../../src/audit/index.ts';
import { type AuditFilter, auditConditions } from '../../src/officer/filter.ts';
import { findingCountsFromLog, withheldCountsFromLog } from '../../src/officer/compliance-queries.ts';
import { acknowledgeFindings, findingGroupsFromLog, summarisedFindingGroups } from '../../src/officer/finding-groups.ts';
import { accessCount, accessesByDayFromLog, agentSummariesFromLog, decisionBreakdownFromLog, fieldAccessCountsFromLog } from '../../src/officer/log-queries.ts';
import { crossBorderFlowsFromLog } from '../../src/officer/subject-queries.ts';
import {
  summarisedAccessCount,
  summarisedAccessesByDay,
  summarisedAgentSummaries,
  summarisedDecisionBreakdown,
  summarisedFieldAccessCounts,
  summarisedFindingCounts,
  summarisedFlows,
  summarisedWithheldCounts,
} from '../../src/officer/summary-queries.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft, emptyAuditLog } from '../support/audit.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const key = randomBytes(32);
const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 28);
const AGENTS = [
  { id: 'support-bot', location: 'SG', purpose: 'customer_service' },
  { id: 'fraud-bot', location: 'EU-DE', purpose: 'fraud_detection' },
  { id: 'kyc-bot', location: 'US-CA', purpose: 'kyc' },
  { id: null, location: null, purpose: null },
] as const;
const DECISIONS = [
  ['allowed', null],
  ['allowed', null],
  ['denied', 'FIELD_NOT_VISIBLE'],
  ['error', 'INTERNAL'],
  ['pending_approval', 'APPROVAL_REQUIRED'],
] as const;
const JURISDICTIONS = ['SG', 'EU-DE', 'EU-FR', 'US-CA', null] as const;
const FIELDS: FieldAccess[] = [
  { table: 'customers', field: 'email', mask: 'mask_email', rule: 'r1' },
  { table: 'customers', field: 'national_id', mask: 'clear' },
  { table: 'health_claims', field: 'diagnosis_code', mask: 'truncate', rule: 'r2' },
  { table: 'customers', field: 'email', mask: 'hash', rule: 'r3' },
];
const FINDINGS: Array<Record<string, unknown>> = [
  { check: 'cross_border', outcome: 'flag', jurisdiction: 'EU-FR', rule: 'gdpr' },
  { check: 'cross_border', outcome: 'flag', jurisdiction: 'EU-FR', rule: 'gdpr' },
  { check: 'special_category', outcome: 'deny', jurisdiction: 'SG' },
  { check: 'purpose', outcome: 'allow', jurisdiction: null },
  { check: 'retention', outcome: 'flag', jurisdiction: 'CN' },
];
const SPECIAL_FIELDS = ['customers.national_id', 'health_claims.diagnosis_code'];

/** A log of varied records: agents, purposes, decisions, codes, subjects of several jurisdictions, costs and withheld rows over eight days. */
function variedDrafts(count: number): AuditDraft[] {
  return Array.from({ length: count }, (_, n) => {
    const agent = AGENTS[n % AGENTS.length]!;
    const [decision, code] = DECISIONS[n % DECISIONS.length]!;
    const subjects = decision === 'allowed' ? (n * 7) % 5 : 0;
    return auditDraft({
      recordedAt: new Date(START + n * 5 * HOUR + (n % 60) * 60_000),
      actorKind: agent.id === null ? 'anonymous' : n % 11 === 0 ? 'officer' : 'agent',
      actorId: agent.id,
      purpose: n % 13 === 0 ? 'audit' : agent.purpose,
      actorLocation: agent.location,
      decision,
      code,
      rowCount: subjects * 2,
      subjects: new Map(Array.from({ length: subjects }, (_, i) => [`customer:${(n * 3 + i) % 17}`, JURISDICTIONS[(n + i) % JURISDICTIONS.length]!])),
      privacyCost: n % 3 === 0 ? { epsilon: 0.25 * (n % 4) } : null,
      details:
        n % 4 === 0
          ? {
              withheld: [
                { table: 'customers', rows: n % 5, jurisdictions: n % 8 === 0 ? ['CN'] : ['CN', 'EU-FR'] },
                { table: 'accounts', rows: 1, jurisdictions: ['CN'] },
              ],
            }
          : {},
      fields: FIELDS.slice(n % 3, 1 + (n % 4)),
      // Some records carry the same finding twice: a group counts them twice, and the record once.
      findings: FINDINGS.slice(n % 4, n % 6),
    });
  });
}

const FILTERS: Array<[string, AuditFilter]> = [
  ['no filter', {}],
  ['agents and anonymous callers only', { actorKinds: ['agent', 'anonymous'] }],
  ['one agent', { agent: 'support-bot' }],
  ['since a day, up to a day after the newest record', { from: '2026-12-01T00:00:00Z', to: '2027-02-01T00:00:00Z' }],
  ['since a day, as a dashboard asks', { from: '2026-12-03T00:00:00Z', actorKinds: ['agent', 'anonymous'] }],
];

/** Filters only the scan answers for some panels (hour-aligned but not day-aligned, a purpose, a decision, a subject jurisdiction). */
const PARTLY_SUMMARISED: Array<[string, AuditFilter]> = [
  ['since an hour', { from: '2026-12-02T05:00:00Z' }],
  ['a purpose', { purpose: 'kyc' }],
  ['a decision', { decision: 'denied' }],
  ['a subject jurisdiction', { jurisdiction: 'EU-FR' }],
  ['a window in the past', { from: '2026-11-29T00:00:00Z', to: '2026-12-01T00:00:00Z' }],
];

describe.each(ENGINES)('officer panels from summaries ($engine)', ({ create }) => {
  let t: TestDatabase;
  /** Two brokers, each remembering the reach keys it committed, and a writer remembering none (the trigger's path) take turns. */
  const writers = [knownReach(), knownReach(), undefined];
  let turn = 0;
  const append = async (drafts: readonly AuditDraft[]) => {
    const reach = writers[turn++ % writers.length]?.scope();
    await t.db.transaction((tx) => appendAuditRecords(tx, key, drafts, undefined, reach));
    reach?.commit();
  };
  const summaryTotals = async () =>
    (
      await t.db.query<{ records: number; flows: number; reach: number }>(
        'SELECT (SELECT coalesce(sum(records), 0) FROM audit_summary)::int8 AS records, (SELECT coalesce(sum(records), 0) FROM audit_flow_summary)::int8 AS flows, (SELECT count(*) FROM audit_subject_reach)::int8 AS reach',
      )
    ).rows.map((r) => [Number(r.records), Number(r.flows), Number(r.reach)])[0];

  /** Every summarised answer the filter allows equals the scan's; returns which panels the summaries answered. */
  async function expectSameAnswers(filter: AuditFilter): Promise<string[]> {
    const answered: string[] = [];
    const compare = async (panel: string, summarised: unknown, scanned: () => Promise<unknown>) => {
      if (summarised === null) return;
      answered.push(panel);
      expect(JSON.parse(JSON.stringify(summarised, numbers)), panel).toEqual(JSON.parse(JSON.stringify(await scanned(), numbers)));
    };
    await compare('accessCount', await summarisedAccessCount(t.db, filter), async () => {
      const params: unknown[] = [];
      return (await t.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM audit_log a WHERE ${auditConditions(filter, params)}`, params)).rows[0]!.n;
    });
    await compare('accessesByDay', await summarisedAccessesByDay(t.db, filter), () => accessesByDayFromLog(t.db, filter));
    await compare('decisionBreakdown', await summarisedDecisionBreakdown(t.db, filter), () => decisionBreakdownFromLog(t.db, filter));
    await compare('agentSummaries', await summarisedAgentSummaries(t.db, filter), () => agentSummariesFromLog(t.db, filter));
    await compare('withheldCounts', await summarisedWithheldCounts(t.db, filter), () => withheldCountsFromLog(t.db, filter));
    await compare('fieldAccessCounts', await summarisedFieldAccessCounts(t.db, filter, SPECIAL_FIELDS), () =>
      fieldAccessCountsFromLog(t.db, filter, SPECIAL_FIELDS),
    );
    for (const findingFilter of [{}, { outcomes: ['flag' as const], jurisdiction: filter.jurisdiction }, { check: 'cross_border' }]) {
      await compare('findingCounts', await summarisedFindingCounts(t.db, filter, findingFilter), () => findingCountsFromLog(t.db, filter, findingFilter));
      await compare('findingGroups', await summarisedFindingGroups(t.db, filter, findingFilter, 100), () =>
        findingGroupsFromLog(t.db, filter, findingFilter, 100),
      );
    }
    for (const byAgent of [false, true]) {
      await compare(`crossBorderFlows${byAgent ? ' by agent' : ''}`, await summarisedFlows(t.db, filter, byAgent), () =>
        crossBorderFlowsFromLog(t.db, filter, byAgent),
      );
    }
    return answered;
  }

  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
    await emptyAuditLog(t.db);
    const drafts = variedDrafts(160);
    // In batches of several sizes, as group commit writes them; an officer acknowledges some finding groups halfway.
    for (let i = 0; i < drafts.length; i += 1 + (i % 37)) {
      await append(drafts.slice(i, i + 1 + (i % 37)));
      if (i === 63) {
        for (const group of (await findingGroupsFromLog(t.db, {}, {}, 100)).slice(0, 3)) {
          const key = { agent: group.agent_id, check: group.check_name, outcome: group.outcome, jurisdiction: group.jurisdiction };
          await acknowledgeFindings(t.db, key, { status: 'acknowledged', by: 'dpo', note: 'seen' });
        }
      }
    }
  });
  afterAll(() => t?.drop());

  it.each(FILTERS)('answers every panel from the summaries as the scan does: %s', async (_, filter) => {
    expect(await expectSameAnswers(filter)).toEqual([
      'accessCount',
      'accessesByDay',
      'decisionBreakdown',
      'agentSummaries',
      'withheldCounts',
      'fieldAccessCounts',
      'findingCounts',
      'findingGroups',
      'findingCounts',
      'findingGroups',
      'findingCounts',
      'findingGroups',
      'crossBorderFlows',
      'crossBorderFlows by agent',
    ]);
  });

  it.each(PARTLY_SUMMARISED)('answers what it can from the summaries, the same as the scan: %s', async (_, filter) => {
    expect((await expectSameAnswers(filter)).length).toBeGreaterThan(0);
  });

  it('leaves the summaries untouched by a batch that rolls back', async () => {
    const before = await summaryTotals();
    const failing = t.db.transaction(async (tx) => {
      await appendAuditRecords(tx, key, variedDrafts(12), undefined, writers[0]!.scope());
      throw new Error('the batch fails after its records were written');
    });
    await expect(failing).rejects.toThrow('the batch fails');
    expect(await summaryTotals()).toEqual(before);
  });

  it('subtracts pruned records, and counts subjects from the cut-off on', async () => {
    const before = new Date('2026-12-01T00:00:00Z');
    const rule = { days: 1, rule: 'test', law: 'test' };
    const plan = await planPrune(t.db, { before, policy: { byJurisdiction: new Map(), ungoverned: rule, noSubjects: rule } });
    expect(plan.records).toBeGreaterThan(0);
    await pruneAuditLog(t.db, key, plan, { actor: { kind: 'officer', id: 'dpo' }, force: true });
    for (const [, filter] of [...FILTERS, ...PARTLY_SUMMARISED]) await expectSameAnswers(filter);
    // Subjects of pruned records are still in the reach table: only a window from the cut-off on may use it.
    expect(await summarisedAgentSummaries(t.db, {})).toBeNull();
    expect(await summarisedAgentSummaries(t.db, { from: '2026-12-01T00:00:00Z' })).not.toBeNull();
    expect(await accessCount(t.db, {})).toBe(Number((await t.db.query<{ n: number }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n));
  });

  it("recomputes a finding group's rule and times when a prune cuts into an hour", async () => {
    const finding = { check: 'retention', outcome: 'flag', jurisdiction: 'JP' };
    // A log of one hour: its older record carries the greater rule, and the prune takes only that one.
    await emptyAuditLog(t.db);
    await append([
      auditDraft({ recordedAt: new Date('2026-12-01T01:05:00Z'), actorId: 'audit-bot', findings: [{ ...finding, rule: 'z-older' }] }),
      auditDraft({ recordedAt: new Date('2026-12-01T01:50:00Z'), actorId: 'audit-bot', findings: [{ ...finding, rule: 'a-newer' }] }),
    ]);
    const rule = { days: 1, rule: 'test', law: 'test' };
    const plan = await planPrune(t.db, { before: new Date('2026-12-01T01:30:00Z'), policy: { byJurisdiction: new Map(), ungoverned: rule, noSubjects: rule } });
    await pruneAuditLog(t.db, key, plan, { actor: { kind: 'officer', id: 'dpo' }, force: true });
    const groups = await summarisedFindingGroups(t.db, { agent: 'audit-bot' }, {}, 100);
    expect(groups?.map((g) => [g.rule, new Date(g.first_seen).toISOString(), Number(g.findings)])).toEqual([['a-newer', '2026-12-01T01:50:00.000Z', 1]]);
    for (const [, filter] of [...FILTERS, ...PARTLY_SUMMARISED]) await expectSameAnswers(filter);
  });
});

/**
 * Drivers hand counts back as numbers, bigints or strings, sums as floats or numerics: compare them as numbers.
 * The scan's Σε of records that declare none is NULL, the summary's 0: the API reads both as 0.
 */
function numbers(this: unknown, key: string, value: unknown): unknown {
  if (key === 'epsilon' && value === null) return 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) && !['day', 'code', 'agent', 'actor_id'].includes(key)) return Number(value);
  return value;
}
