import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectPseudonym } from '../../src/audit/index.ts';
import { composeCosts, epsilonAt, type PrivacyCost } from '../../src/dp/index.ts';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { DAY, officerHandlerOf, officerQuery, seedAuditTrail } from './officer-fixtures.ts';

describe.each(ENGINES)('officer API on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let handle: OfficerRequestHandler;
  let dpo: string;
  /** The ledger period the seeded DP answers were charged to (monthly budgets). */
  let period: string;
  const ask = (query: string, variables?: Record<string, unknown>) => officerQuery(handle, dpo, query, variables);
  const data = async (query: string, variables?: Record<string, unknown>) => {
    const reply = await ask(query, variables);
    expect(reply.body.errors, JSON.stringify(reply.body.errors)).toBeUndefined();
    expect(reply.status).toBe(200);
    return reply.body.data!;
  };
  const lastRecord = async () => (await t.db.query<Record<string, any>>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    handle = officerHandlerOf(kh);
    period = new Date().toISOString().slice(0, 7);
    await seedAuditTrail(kh);
    dpo = await kh.token('dpo');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('lists the access log newest first, filtered by agent, decision, table, field and jurisdiction', async () => {
    const fields = 'seq actorKind actorId decision code rowCount subjectCount tables jurisdictions fields { table field mask rule special }';
    const all = await data(
      `{ accessLog(limit: 100, filter: { actorKinds: [agent, anonymous] }) { ${fields} } accessCount(filter: { actorKinds: [agent, anonymous] }) }`,
    );
    expect(all.accessLog.map((r: any) => r.actorId)).toEqual([
      'kyc-bot',
      'support-bot',
      null,
      'analytics-bot',
      'analytics-bot',
      'analytics-bot',
      'analytics-bot',
      'analytics-bot',
      'fraud-bot',
      'support-bot',
      'support-bot',
    ]);
    expect(all.accessCount).toBe(11);

    const support = (await data(`{ accessLog(filter: { agent: "support-bot" }) { ${fields} } }`)).accessLog;
    expect(support.map((r: any) => [r.decision, r.code, r.tables])).toEqual([
      ['denied', 'TRANSFER_DENIED', []],
      ['allowed', null, ['accounts']],
      ['allowed', null, ['customers']],
    ]);
    // Customer 4 (CN) was withheld, customer 3 (US-CA) is outside the desk: 4 customers, none of them CN.
    expect(support[2]).toMatchObject({ rowCount: 4, subjectCount: 4, jurisdictions: ['EU-DE', 'EU-FR', 'IN', 'SG'] });
    expect(support[2].fields).toContainEqual({ table: 'customers', field: 'residency', mask: 'clear', rule: null, special: false });
    expect(support[2].fields).toContainEqual({
      table: 'customers',
      field: 'email',
      mask: 'email',
      rule: expect.stringMatching(/^masking-rules\/customers\.yaml:\d+$/),
      special: false,
    });
    expect(support[1]).toMatchObject({ rowCount: 5, subjectCount: 4 });

    const denied = (await data(`{ accessLog(filter: { decision: denied, actorKinds: [agent, anonymous] }) { ${fields} } }`)).accessLog;
    expect(denied.map((r: any) => [r.actorId, r.code, r.rowCount])).toEqual([
      ['support-bot', 'TRANSFER_DENIED', 0],
      [null, 'UNAUTHENTICATED', 0],
      ['analytics-bot', 'PRIVACY_LIMIT_EXCEEDED', 0],
    ]);

    const byField = (await data(`{ accessLog(filter: { table: "health_claims", field: "diagnosis_code" }) { ${fields} } }`)).accessLog;
    expect(byField.map((r: any) => r.actorId)).toEqual(['kyc-bot']);
    expect(byField[0].fields[0]).toEqual({
      table: 'health_claims',
      field: 'diagnosis_code',
      mask: 'partial',
      rule: 'masking-rules/health-claims.yaml:6',
      special: true,
    });

    expect((await data(`{ accessLog(filter: { jurisdiction: "US-CA" }) { ${fields} } }`)).accessLog.map((r: any) => r.actorId)).toEqual(['fraud-bot']);
    // support-bot never received a CN customer: only fraud-bot, under its CAC standard contract, did.
    expect((await data(`{ accessLog(filter: { jurisdiction: "CN" }) { ${fields} } }`)).accessLog.map((r: any) => r.actorId)).toEqual(['fraud-bot']);
  });

  it('filters by time range (from inclusive, to exclusive) and pages', async () => {
    const now = Date.now();
    const range = { from: new Date(now - 3.5 * DAY).toISOString(), to: new Date(now - 1 * DAY).toISOString() };
    const old = (await data('query($f: AuditFilter) { accessLog(filter: $f) { actorId } }', { f: range })).accessLog;
    expect(old.map((r: any) => r.actorId)).toEqual(['kyc-bot']);
    const page = (await data('{ accessLog(limit: 2, offset: 1, filter: { actorKinds: [agent] }) { actorId code } }')).accessLog;
    expect(page).toEqual([
      { actorId: 'support-bot', code: 'TRANSFER_DENIED' },
      { actorId: 'analytics-bot', code: 'PRIVACY_LIMIT_EXCEEDED' },
    ]);
  });

  it('treats filter values as data, never as SQL', async () => {
    const reply = await data(
      `{ accessLog(filter: { agent: "x' OR '1'='1" }) { seq } accessCount(filter: { table: "customers') OR TRUE --" }) findings(check: "x' OR TRUE --") { seq } }`,
    );
    expect(reply.accessLog).toEqual([]);
    expect(reply.accessCount).toBe(0);
    expect(reply.findings).toEqual([]);
  });

  it('summarises each agent: requests, decisions, rows, distinct subjects, withheld rows and declared ε', async () => {
    const { agentSummaries } = await data(
      '{ agentSummaries(filter: { actorKinds: [agent, anonymous] }) { actorKind agent location requests allowed denied errors rows distinctSubjects withheldRows epsilonSpent } }',
    );
    const by = new Map(agentSummaries.map((s: any) => [s.agent ?? s.actorKind, s]));
    expect(by.get('support-bot')).toEqual({
      actorKind: 'agent',
      agent: 'support-bot',
      location: 'SG',
      requests: 3,
      allowed: 2,
      denied: 1,
      errors: 0,
      rows: 9,
      distinctSubjects: 4,
      withheldRows: 2,
      epsilonSpent: 0,
    });
    expect(by.get('fraud-bot')).toMatchObject({ location: 'EU-DE', requests: 1, rows: 5, distinctSubjects: 4, withheldRows: 0 });
    // 10 category groups twice (the replay), no city group, one ungrouped answer; ε 0.5 + 0 (replayed) + 1 + 1.
    expect(by.get('analytics-bot')).toMatchObject({ location: 'US-CA', requests: 5, allowed: 4, denied: 1, rows: 21, distinctSubjects: 0, epsilonSpent: 2.5 });
    expect(by.get('kyc-bot')).toMatchObject({ requests: 1, rows: 1, distinctSubjects: 1 });
    expect(by.get('anonymous')).toMatchObject({ agent: null, requests: 1, allowed: 0, denied: 1 });

    const recent = (
      await data('query($from: DateTime) { agentSummaries(from: $from, filter: { actorKinds: [agent] }) { agent } }', {
        from: new Date(Date.now() - DAY).toISOString(),
      })
    ).agentSummaries;
    expect(recent.map((s: any) => s.agent).sort()).toEqual(['analytics-bot', 'fraud-bot', 'support-bot']);
  });

  it('counts accesses per day and decisions with their codes, compliance and DP refusals included', async () => {
    const reply = await data(
      '{ accessesByDay(filter: { actorKinds: [agent] }) { day actorId requests } decisionBreakdown(filter: { actorKinds: [agent, anonymous] }) { decision code count } }',
    );
    const days = new Set(reply.accessesByDay.map((d: any) => d.day));
    expect(days.size).toBe(2);
    expect(reply.accessesByDay.reduce((n: number, d: any) => n + d.requests, 0)).toBe(10);
    expect(reply.decisionBreakdown).toEqual([
      { decision: 'allowed', code: null, count: 8 },
      { decision: 'denied', code: 'PRIVACY_LIMIT_EXCEEDED', count: 1 },
      { decision: 'denied', code: 'TRANSFER_DENIED', count: 1 },
      { decision: 'denied', code: 'UNAUTHENTICATED', count: 1 },
    ]);
  });

  it("reads privacy budgets from the DP ledger: ε spent composed at each budget's own δ, δ spent and queries", async () => {
    const budget = 'scope kind name agent period epsilonLimit epsilonSpent epsilonRemaining deltaLimit deltaSpent rhoSpent queries resetsAt';
    const { privacyBudgets } = await data(`{ privacyBudgets { source note agents { ${budget} } datasets { ${budget} } } }`);
    expect(privacyBudgets.source).toBe('dp_budget');
    const [agent, ...otherAgents] = privacyBudgets.agents;
    const [dataset, ...otherDatasets] = privacyBudgets.datasets;
    const [year, month] = period.split('-').map(Number);
    const resetsAt = new Date(Date.UTC(year!, month!, 1)).toISOString();
    // fraud-bot has a budget in policies.yaml and spent nothing: listed for the current period, untouched.
    expect([otherAgents, otherDatasets]).toEqual([
      [
        {
          scope: 'agent:fraud-bot',
          kind: 'agent',
          name: 'fraud-bot',
          agent: 'fraud-bot',
          period,
          epsilonLimit: 5,
          epsilonSpent: 0,
          epsilonRemaining: 5,
          deltaLimit: 0,
          deltaSpent: 0,
          rhoSpent: 0,
          queries: 0,
          resetsAt,
        },
      ],
      [],
    ]);
    // Four answers were charged once each: the replay cost nothing, the refused one was never charged.
    expect(agent).toMatchObject({
      scope: 'agent:analytics-bot',
      kind: 'agent',
      name: 'analytics-bot',
      agent: 'analytics-bot',
      period,
      epsilonLimit: 20,
      deltaLimit: 1e-6,
      deltaSpent: 1e-8,
      queries: 3,
      resetsAt,
    });
    expect(dataset).toMatchObject({
      scope: 'dataset:demo-bank',
      kind: 'dataset',
      name: 'demo-bank',
      agent: null,
      period,
      epsilonLimit: 50,
      deltaLimit: 1e-5,
      deltaSpent: 1e-8,
      queries: 3,
    });

    // The same spends, recomposed from the audit records' own privacy_cost: LAPLACE charges (ε, δ), GAUSSIAN ρ.
    const dp = (await data('{ accessLog(filter: { agent: "analytics-bot", decision: allowed }) { privacyCost } }')).accessLog.map((r: any) => r.privacyCost);
    const charged = dp
      .filter((c: any) => !c.replayed)
      .map((c: any): PrivacyCost => (c.mechanism === 'GAUSSIAN' ? { rho: c.rho } : { epsilon: c.epsilon, delta: c.delta }));
    expect(charged).toHaveLength(3);
    const composed = composeCosts(charged);
    expect(agent.rhoSpent).toBeCloseTo(composed.rho, 15);
    expect(agent.epsilonSpent).toBeCloseTo(epsilonAt(composed, 1e-6), 12);
    expect(dataset.epsilonSpent).toBeCloseTo(epsilonAt(composed, 1e-5), 12);
    expect(agent.epsilonRemaining).toBeCloseTo(20 - agent.epsilonSpent, 12);
    // More than the pure and approximate parts alone (0.5 + 1), less than adding up the declared ε (2.5): the
    // Gaussian's ρ converts at the δ left over. A looser δ certifies a smaller ε.
    expect(agent.epsilonSpent).toBeGreaterThan(1.5);
    expect(agent.epsilonSpent).toBeLessThan(2.5);
    expect(dataset.epsilonSpent).toBeLessThan(agent.epsilonSpent);

    const narrowed = (await data(`{ privacyBudgets(filter: { agent: "fraud-bot" }) { agents { name } datasets { name } } }`)).privacyBudgets;
    expect(narrowed).toEqual({ agents: [{ name: 'fraud-bot' }], datasets: [{ name: 'demo-bank' }] });
    const byPeriod = (await data('query($p: String) { privacyBudgets(period: $p) { agents { name } } }', { p: period })).privacyBudgets;
    expect(byPeriod.agents).toEqual([{ name: 'analytics-bot' }, { name: 'fraud-bot' }]);
    const longAgo = (await data('{ privacyBudgets(from: "2020-01-01T00:00:00Z", to: "2020-02-01T00:00:00Z") { note agents { name } datasets { name } } }'))
      .privacyBudgets;
    expect(longAgo).toEqual({ note: expect.stringMatching(/^No differentially private answer/), agents: [], datasets: [] });
  });

  it('lists compliance findings in their real shape, denials first, filtered by jurisdiction, outcome and check', async () => {
    const q = `query($j: String, $o: [FindingOutcome!], $c: String, $f: AuditFilter) {
      findings(jurisdiction: $j, outcomes: $o, check: $c, filter: $f) { seq recordedAt agent purpose decision code check outcome jurisdiction rule message finding }
    }`;
    const all = (await data(q)).findings;
    expect(all).toHaveLength(17);
    expect(all.map((f: any) => f.outcome)).toEqual([...Array(1).fill('deny'), ...Array(8).fill('flag'), ...Array(8).fill('allow')]);
    expect(all[0]).toMatchObject({
      // After the rules_version record of the stricter broker that refused it (officer-fixtures.ts transferDenial).
      seq: 11,
      agent: 'support-bot',
      purpose: 'customer_service',
      decision: 'denied',
      code: 'TRANSFER_DENIED',
      check: 'cross_border_transfer',
      outcome: 'deny',
      jurisdiction: 'EU-FR',
      rule: 'GDPR Art. 44',
    });
    expect(all[0].message).toMatch(/EU-FR subjects goes to SG \(agent support-bot\); without a transfer basis/);
    expect(all[0].finding).toEqual({ check: all[0].check, outcome: 'deny', jurisdiction: 'EU-FR', rule: all[0].rule, message: all[0].message });
    expect(Date.parse(all[0].recordedAt)).toBeGreaterThan(Date.now() - DAY);

    const concerns = (await data(q, { o: ['deny', 'flag'] })).findings;
    expect(concerns.map((f: any) => `${f.seq} ${f.check} ${f.outcome} ${f.jurisdiction}`)).toEqual([
      '11 cross_border_transfer deny EU-FR',
      '12 special_category flag SG',
      '12 purpose_limitation flag SG',
      '11 cross_border_transfer flag EU-DE',
      '3 cross_border_transfer flag CN',
      '2 cross_border_transfer flag EU-DE',
      '2 cross_border_transfer flag EU-FR',
      '1 cross_border_transfer flag EU-DE',
      '1 cross_border_transfer flag EU-FR',
    ]);
    expect(concerns.find((f: any) => f.jurisdiction === 'CN').rule).toMatch(/^PIPL Art\. 38/);

    // The jurisdiction is the finding's own: seq 3 also returned EU-DE subjects, but found nothing about them.
    const de = (await data(q, { j: 'EU-DE' })).findings;
    expect(de.map((f: any) => [f.seq, f.outcome])).toEqual([
      [11, 'flag'],
      [2, 'flag'],
      [1, 'flag'],
    ]);
    expect((await data(q, { f: { jurisdiction: 'EU-DE' } })).findings).toEqual(de);
    expect((await data(q, { j: 'JP' })).findings).toEqual([]);

    const special = (await data(q, { c: 'special_category' })).findings;
    expect(special.map((f: any) => `${f.agent} ${f.outcome} ${f.jurisdiction}`)).toEqual(['kyc-bot flag SG', 'fraud-bot allow CN', 'fraud-bot allow SG']);
    expect((await data(q, { c: 'cross_border_transfer', o: ['deny'], f: { agent: 'fraud-bot' } })).findings).toEqual([]);
    expect((await data(q, { f: { agent: 'fraud-bot' } })).findings).toHaveLength(6);

    const limited = await ask('{ findings(limit: 0) { seq } }');
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('counts findings per check, outcome and jurisdiction', async () => {
    const { findingCounts } = await data('{ findingCounts { check outcome jurisdiction findings records } }');
    const total = (outcome: string) => findingCounts.filter((c: any) => c.outcome === outcome).reduce((n: number, c: any) => n + c.findings, 0);
    expect([total('deny'), total('flag'), total('allow')]).toEqual([1, 8, 8]);
    expect(findingCounts[0]).toEqual({ check: 'cross_border_transfer', outcome: 'deny', jurisdiction: 'EU-FR', findings: 1, records: 1 });
    expect(findingCounts).toContainEqual({ check: 'cross_border_transfer', outcome: 'flag', jurisdiction: 'EU-DE', findings: 3, records: 3 });
    expect(findingCounts).toContainEqual({ check: 'special_category', outcome: 'flag', jurisdiction: 'SG', findings: 1, records: 1 });
    const recent = (
      await data('query($from: DateTime) { findingCounts(from: $from, outcomes: [flag]) { check jurisdiction findings } }', {
        from: new Date(Date.now() - DAY).toISOString(),
      })
    ).findingCounts;
    expect(recent).toEqual([
      { check: 'cross_border_transfer', jurisdiction: 'CN', findings: 1 },
      { check: 'cross_border_transfer', jurisdiction: 'EU-DE', findings: 3 },
      { check: 'cross_border_transfer', jurisdiction: 'EU-FR', findings: 2 },
    ]);
  });

  it('counts rows withheld by transfer rules per agent, table and jurisdiction, from allowed answers only', async () => {
    const q = 'query($f: AuditFilter) { withheldRows(filter: $f) { actorKind agent location table jurisdictions records rows } }';
    const withheld = [
      { actorKind: 'agent', agent: 'support-bot', location: 'SG', table: 'accounts', jurisdictions: ['CN'], records: 1, rows: 1 },
      // The TRANSFER_DENIED request would also have withheld a CN customer, but it returned nothing at all.
      { actorKind: 'agent', agent: 'support-bot', location: 'SG', table: 'customers', jurisdictions: ['CN'], records: 1, rows: 1 },
    ];
    expect((await data(q)).withheldRows).toEqual(withheld);
    expect((await data(q, { f: { jurisdiction: 'CN' } })).withheldRows).toEqual(withheld);
    expect((await data(q, { f: { jurisdiction: 'SG' } })).withheldRows).toEqual([]);
    expect((await data(q, { f: { agent: 'fraud-bot' } })).withheldRows).toEqual([]);
    expect((await data(q, { f: { table: 'customers' } })).withheldRows).toEqual([withheld[1]]);
  });

  it('builds the cross-border matrix agent location × subject jurisdiction', async () => {
    const { crossBorderFlows } = await data('{ crossBorderFlows { agentLocation subjectJurisdiction records subjects crossBorder } }');
    const cell = (from: string, to: string) => crossBorderFlows.find((c: any) => c.agentLocation === from && c.subjectJurisdiction === to);
    expect(crossBorderFlows).toHaveLength(8);
    expect(cell('SG', 'EU-DE')).toEqual({ agentLocation: 'SG', subjectJurisdiction: 'EU-DE', records: 2, subjects: 1, crossBorder: true });
    expect(cell('SG', 'SG')).toMatchObject({ records: 3, subjects: 1, crossBorder: false });
    expect(cell('EU-DE', 'CN')).toMatchObject({ records: 1, subjects: 1, crossBorder: true });
    expect(cell('EU-DE', 'US-CA')).toMatchObject({ records: 1, subjects: 1, crossBorder: true });
    expect(cell('EU-DE', 'EU-DE')).toMatchObject({ crossBorder: false });
    expect(cell('SG', 'CN')).toBeUndefined();
    expect(cell('SG', 'US-CA')).toBeUndefined();

    const de = (await data('{ crossBorderFlows(filter: { jurisdiction: "EU-DE" }) { agentLocation subjectJurisdiction } }')).crossBorderFlows;
    expect(de.map((c: any) => `${c.agentLocation}>${c.subjectJurisdiction}`).sort()).toEqual(['EU-DE>EU-DE', 'SG>EU-DE']);
  });

  it('shows special-category fields returned to each agent', async () => {
    const { specialCategoryAccess } = await data('{ specialCategoryAccess { agent table field mask tags records rows } }');
    expect(specialCategoryAccess).toEqual([
      { agent: 'kyc-bot', table: 'health_claims', field: 'diagnosis_code', mask: 'partial', tags: ['special.health'], records: 1, rows: 1 },
    ]);
  });

  it('answers who has seen a customer, from pseudonyms alone, and audits the lookup without the id', async () => {
    const q = 'query($id: ID!) { whoHasSeen(customerId: $id) { subject agents accesses { seq agent purpose subjectJurisdiction fields { field mask } } } }';
    const seenTwo = (await data(q, { id: '2' })).whoHasSeen;
    expect(seenTwo.subject).toBe(subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', 2));
    expect(seenTwo.agents).toEqual(['fraud-bot', 'support-bot']);
    expect(seenTwo.accesses.map((a: any) => [a.seq, a.agent])).toEqual([
      [1, 'support-bot'],
      [2, 'support-bot'],
      [3, 'fraud-bot'],
    ]);
    expect(seenTwo.accesses[0]).toMatchObject({ agent: 'support-bot', purpose: 'customer_service', subjectJurisdiction: 'EU-DE' });
    expect(seenTwo.accesses[0].fields).toContainEqual({ field: 'email', mask: 'email' });
    expect((await data(q, { id: '1' })).whoHasSeen.agents).toEqual(['fraud-bot', 'kyc-bot', 'support-bot']);
    expect((await data(q, { id: '3' })).whoHasSeen.agents).toEqual(['fraud-bot']);
    // Withheld from support-bot: only fraud-bot has seen the CN customer.
    expect((await data(q, { id: '4' })).whoHasSeen.agents).toEqual(['fraud-bot']);
    expect((await data(q, { id: '6' })).whoHasSeen.agents).toEqual(['support-bot']);
    // An id long enough that it cannot turn up by chance inside a hash or a request id.
    expect((await data(q, { id: '987654321' })).whoHasSeen).toMatchObject({ agents: [], accesses: [] });

    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([
      { field: 'whoHasSeen', args: { subject: subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', 987654321) } },
    ]);
    expect(JSON.stringify(record)).not.toMatch(/987654321/);
  });

  it('audits every officer query before answering it', async () => {
    const before = Number((await t.db.query<{ n: number }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n);
    const reply = await data('query Review { me { id } accessCount agentSummaries { agent } }');
    expect(reply.me.id).toBe('dpo');
    expect(reply.accessCount).toBe(before);
    const record = await lastRecord();
    expect(Number(record.seq)).toBe(before + 1);
    expect(record).toMatchObject({ actor_kind: 'officer', actor_id: 'dpo', decision: 'allowed', operation_name: 'Review', operation_kind: 'officer_review' });
    expect(record.tables).toEqual(['audit_log', 'audit_subjects']);
    expect(record.details.officerQueries.map((q: any) => q.field)).toEqual(['me', 'accessCount', 'agentSummaries']);

    const officerRecords = (await data('{ accessLog(filter: { actorKinds: [officer] }, limit: 500) { actorId } }')).accessLog;
    expect(officerRecords.length).toBeGreaterThan(5);
  });

  it('refuses and audits a bad argument', async () => {
    const reply = await ask('{ accessLog(limit: 100000) { seq } }');
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(reply.body.data ?? null).toBeNull();
    expect(await lastRecord()).toMatchObject({ actor_kind: 'officer', decision: 'denied', code: 'LIMIT_EXCEEDED' });
    const backwards = await ask('{ accessCount(filter: { from: "2025-02-01T00:00:00Z", to: "2025-01-01T00:00:00Z" }) }');
    expect(backwards.body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses an agent token with NOT_AN_OFFICER (403) and records the attempt under the agent', async () => {
    const reply = await officerQuery(handle, await kh.token('support-bot'), '{ accessCount }');
    expect(reply.status).toBe(403);
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('NOT_AN_OFFICER');
    expect(reply.body.data).toBeUndefined();
    expect(await lastRecord()).toMatchObject({ actor_kind: 'agent', actor_id: 'support-bot', decision: 'denied', code: 'NOT_AN_OFFICER' });
  });

  it('refuses a missing or invalid token with 401 and the identity codes', async () => {
    const none = await officerQuery(handle, null, '{ accessCount }');
    expect(none.status).toBe(401);
    expect(none.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const parts = dpo.split('.');
    const forged = [parts[0], parts[1], `${parts[2]!.slice(0, -4)}AAAA`].join('.');
    const bad = await officerQuery(handle, forged, '{ accessCount }');
    expect(bad.status).toBe(401);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('TOKEN_INVALID');
    expect(await lastRecord()).toMatchObject({ actor_kind: 'anonymous', decision: 'denied', code: 'TOKEN_INVALID' });
    expect((await lastRecord()).details).toEqual({ claimedId: 'dpo' });
  });

  it('serves the page and its assets, and nothing else under /officer', async () => {
    const get = async (path: string, init?: RequestInit) => (await handle(new Request(`http://keyhole.test${path}`, init)))!;
    const page = await get('/officer');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toMatch(/<script type="module" src="\/officer\/assets\/dashboard.js">/);
    expect(html).not.toMatch(/https?:\/\//);
    const chart = await get('/officer/assets/chart.js');
    expect(chart.headers.get('content-type')).toMatch(/javascript/);
    expect(await chart.text()).toMatch(/Chart\.js v4/);
    expect((await get('/officer/assets/..%2f..%2fpackage.json')).status).toBe(404);
    expect((await get('/officer/graphql', { method: 'GET' })).status).toBe(405);
    expect(await handle(new Request('http://keyhole.test/graphql'))).toBeNull();
  });

  it('lets an officer approve a reserved field, audited under the officer; an agent cannot', async () => {
    const kyc = await kh.token('kyc-bot');
    const asked = await kh.graphql(kyc, '{ customers { id national_id } }');
    expect(asked.body.errors![0]!.extensions?.code).toBe('APPROVAL_REQUIRED');
    const pending = (await data('{ approvals(status: "pending") { id agent purpose table field status } }')).approvals;
    expect(pending).toEqual([
      { id: expect.any(String), agent: 'kyc-bot', purpose: 'kyc_verification', table: 'customers', field: 'national_id', status: 'pending' },
    ]);
    const decided = (
      await data('mutation ($id: ID!) { decideApproval(id: $id, approve: true, reason: "onboarding", validForHours: 2) { status decidedBy expiresAt } }', {
        id: pending[0].id,
      })
    ).decideApproval;
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'dpo' });
    expect((await lastRecord()).details.officerQueries).toEqual([expect.objectContaining({ field: 'decideApproval' })]);
    expect((await kh.graphql(kyc, '{ customers { id national_id } }')).status).toBe(200);
    const again = await officerQuery(handle, dpo, 'mutation ($id: ID!) { decideApproval(id: $id, approve: false) { status } }', { id: pending[0].id });
    expect(again.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
    const byAgent = await officerQuery(handle, kyc, 'mutation ($id: ID!) { decideApproval(id: $id, approve: true) { status } }', { id: pending[0].id });
    expect(byAgent.status).toBe(403);
  });

  it('verifies the audit chain from where it last did, and a full check finds a record changed behind its back', async () => {
    const intact = (
      await data('{ auditChainStatus { ok checked headSeq prunedThrough verifiedFrom verifiedThrough fullVerifiedAt firstBad { seq problem } } }')
    ).auditChainStatus;
    expect(intact).toMatchObject({ ok: true, prunedThrough: 0, verifiedFrom: 0, fullVerifiedAt: expect.any(String), firstBad: null });
    expect(intact.checked).toBe(intact.headSeq);
    await t.db.query("UPDATE audit_log SET row_count = 0 WHERE actor_id = 'fraud-bot'");
    // The change lies before the verified point: the incremental check says so rather than finding it.
    const resumed = (await data('{ auditChainStatus { ok verifiedFrom coverage } }')).auditChainStatus;
    expect(resumed).toMatchObject({ ok: true, verifiedFrom: intact.verifiedThrough });
    expect(resumed.coverage).toContain('full verification');
    const broken = (await data('{ auditChainStatus(full: true) { ok firstBad { seq problem } } }')).auditChainStatus;
    expect(broken).toEqual({ ok: false, firstBad: { seq: 3, problem: 'changed' } });
  });
});
