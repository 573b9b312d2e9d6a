import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { officerHandlerOf, officerQuery, seedAuditTrail } from './officer-fixtures.ts';

const GROUPS = `query Groups($o: [FindingOutcome!], $f: AuditFilter) {
  findingGroups(outcomes: $o, filter: $f) {
    actorKind agent check outcome jurisdiction rule findings records firstSeen lastSeen seqs newFindings
    ack { id status throughSeq note decidedBy decidedAt }
  }
}`;
const ACK = `mutation Ack($agent: String, $check: String, $outcome: FindingOutcome, $jurisdiction: String, $note: String!, $resolve: Boolean) {
  acknowledgeFindings(agent: $agent, check: $check, outcome: $outcome, jurisdiction: $jurisdiction, note: $note, resolve: $resolve) {
    id status throughSeq note decidedBy
  }
}`;
const SUPPORT_CUSTOMERS = '{ customers(limit: 10) { id full_name email phone residency segment } }';

describe.each(ENGINES)('officer finding groups on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let handle: OfficerRequestHandler;
  let dpo: string;
  const ask = (query: string, variables?: Record<string, unknown>) => officerQuery(handle, dpo, query, variables);
  const data = async (query: string, variables?: Record<string, unknown>) => {
    const reply = await ask(query, variables);
    expect(reply.body.errors, JSON.stringify(reply.body.errors)).toBeUndefined();
    return reply.body.data!;
  };
  const lastRecord = async () => (await t.db.query<Record<string, any>>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;
  const groupOf = async (key: Record<string, string>) => {
    const groups = (await data(GROUPS)).findingGroups;
    return groups.find((g: any) => Object.entries(key).every(([k, v]) => g[k] === v));
  };
  const supportEuDe = { agent: 'support-bot', check: 'cross_border_transfer', outcome: 'flag', jurisdiction: 'EU-DE' };

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    handle = officerHandlerOf(kh);
    await seedAuditTrail(kh);
    dpo = await kh.token('dpo');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('groups findings per agent, check, outcome and jurisdiction with counts, time span and record seqs', async () => {
    const { findingGroups } = await data(GROUPS);
    const { findingCounts } = await data('{ findingCounts { check outcome jurisdiction findings } }');
    const total = (rows: any[]) => rows.reduce((n, r) => n + r.findings, 0);
    expect(total(findingGroups)).toBe(total(findingCounts));
    expect(findingGroups[0].outcome).toBe('deny');
    const keys = findingGroups.map((g: any) => JSON.stringify([g.agent, g.check, g.outcome, g.jurisdiction]));
    expect(new Set(keys).size).toBe(keys.length);

    const group = await groupOf(supportEuDe);
    const { findings } = await data(
      '{ findings(jurisdiction: "EU-DE", outcomes: [flag], check: "cross_border_transfer", filter: { agent: "support-bot" }) { seq recordedAt } }',
    );
    expect(group).toMatchObject({ actorKind: 'agent', findings: findings.length, newFindings: findings.length, ack: null });
    expect(group.seqs).toEqual([...new Set(findings.map((f: any) => f.seq))].sort((a: any, b: any) => b - a).slice(0, 5));
    expect(group.lastSeen).toBe(
      findings
        .map((f: any) => f.recordedAt)
        .sort()
        .at(-1),
    );
    expect(group.firstSeen).toBe(findings.map((f: any) => f.recordedAt).sort()[0]);

    const flags = (await data(GROUPS, { o: ['flag'], f: { agent: 'fraud-bot' } })).findingGroups;
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.every((g: any) => g.agent === 'fraud-bot' && g.outcome === 'flag')).toBe(true);
  });

  it('reads the record a group links to by its seq, and null for a seq not in the log', async () => {
    const group = await groupOf(supportEuDe);
    const { auditRecord } = await data('query($seq: BigInt!) { auditRecord(seq: $seq) { seq actorId findings } }', { seq: group.seqs[0] });
    expect(auditRecord).toMatchObject({ seq: group.seqs[0], actorId: 'support-bot' });
    expect(auditRecord.findings).toContainEqual(expect.objectContaining({ check: 'cross_border_transfer', outcome: 'flag', jurisdiction: 'EU-DE' }));
    expect((await data('{ auditRecord(seq: 999999) { seq } }')).auditRecord).toBeNull();
  });

  it('records an acknowledgement in finding_acks and audits it under the officer, in one transaction', async () => {
    const before = await groupOf(supportEuDe);
    const { acknowledgeFindings: ack } = await data(ACK, { ...supportEuDe, note: 'EU-DE customers served from the EU desk: expected' });
    expect(ack).toMatchObject({ status: 'acknowledged', throughSeq: before.seqs[0], decidedBy: 'dpo' });

    const record = await lastRecord();
    expect(record).toMatchObject({ actor_kind: 'officer', actor_id: 'dpo', decision: 'allowed' });
    expect(record.tables).toEqual(['audit_log', 'finding_acks']);
    expect(record.details.officerQueries).toEqual([
      { field: 'acknowledgeFindings', args: expect.objectContaining({ ...supportEuDe, note: 'EU-DE customers served from the EU desk: expected' }) },
    ]);
    const stored = (await t.db.query<Record<string, any>>('SELECT * FROM finding_acks')).rows;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ agent_id: 'support-bot', check_name: 'cross_border_transfer', status: 'acknowledged', decided_by: 'dpo' });

    const after = await groupOf(supportEuDe);
    expect(after).toMatchObject({ findings: before.findings, newFindings: 0, ack: { status: 'acknowledged', throughSeq: before.seqs[0] } });
  });

  it('shows findings recorded after an acknowledgement as new, until the group is resolved', async () => {
    const before = await groupOf(supportEuDe);
    const reply = await kh.graphql(await kh.token('support-bot'), SUPPORT_CUSTOMERS);
    expect(reply.body.errors).toBeUndefined();
    const after = await groupOf(supportEuDe);
    expect(after.findings).toBeGreaterThan(before.findings);
    expect(after.newFindings).toBe(after.findings - before.findings);
    expect(after.ack.status).toBe('acknowledged');

    const { acknowledgeFindings: resolved } = await data(ACK, { ...supportEuDe, note: 'basis confirmed by counsel', resolve: true });
    expect(resolved).toMatchObject({ status: 'resolved', throughSeq: after.seqs[0] });
    expect(await groupOf(supportEuDe)).toMatchObject({ newFindings: 0, ack: { status: 'resolved', note: 'basis confirmed by counsel' } });
  });

  it('refuses and audits an acknowledgement without a note or of a group with no finding', async () => {
    const count = async () => Number((await t.db.query<{ n: number }>('SELECT count(*) AS n FROM finding_acks')).rows[0]!.n);
    const acks = await count();
    const blank = await ask(ACK, { ...supportEuDe, note: '  ' });
    expect(blank.body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(await lastRecord()).toMatchObject({ actor_kind: 'officer', decision: 'denied', code: 'INVALID_ARGUMENT' });
    const none = await ask(ACK, { ...supportEuDe, jurisdiction: 'JP', note: 'nothing here' });
    expect(none.body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(await count()).toBe(acks);
  });

  it('keeps no acknowledgement whose audit record cannot commit', async () => {
    const acks = async () => (await t.db.query('SELECT id FROM finding_acks ORDER BY id')).rows;
    const before = await acks();
    await t.db.exec(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_audit AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_audit();
    `);
    try {
      const reply = await ask(ACK, { ...supportEuDe, note: 'never kept' });
      expect(reply.body.data?.acknowledgeFindings ?? null).toBeNull();
      expect(reply.body.errors).toBeDefined();
    } finally {
      await t.db.exec('DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()');
    }
    expect(await acks()).toEqual(before);
  });

  it('counts cross-border flows per agent, with its location', async () => {
    const { byLocation, byAgent } = await data(`{
      byLocation: crossBorderFlows { agent agentLocation subjectJurisdiction records subjects crossBorder }
      byAgent: crossBorderFlows(byAgent: true) { agent agentLocation subjectJurisdiction records subjects crossBorder }
    }`);
    expect(byLocation.every((c: any) => c.agent === null)).toBe(true);
    expect(byAgent.some((c: any) => c.agent === 'support-bot')).toBe(true);
    const records = (cells: any[]) => cells.reduce((n, c) => n + c.records, 0);
    expect(records(byAgent)).toBe(records(byLocation));
    const support = await data('{ crossBorderFlows(filter: { agent: "support-bot" }) { agentLocation subjectJurisdiction records subjects crossBorder } }');
    expect(byAgent.filter((c: any) => c.agent === 'support-bot').map(({ agent, ...cell }: any) => cell)).toEqual(support.crossBorderFlows);
  });
});
