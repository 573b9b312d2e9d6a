import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectPseudonym } from '../../src/audit/index.ts';
import { type OfficerRequestHandler, useOfficerRoutes } from '../../src/officer/index.ts';
import { silentLog } from '../../src/log.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { DAY, officerQuery, seedAuditTrail } from './officer-fixtures.ts';

describe.each(ENGINES)('officer API on $engine', ({ create }) => {
  let t: TestDatabase;
  let kh: TestBroker;
  let handle: OfficerRequestHandler;
  let dpo: string;
  const ask = (query: string, variables?: Record<string, unknown>) => officerQuery(handle, dpo, query, variables);
  const data = async (query: string, variables?: Record<string, unknown>) => {
    const reply = await ask(query, variables);
    expect(reply.body.errors, JSON.stringify(reply.body.errors)).toBeUndefined();
    expect(reply.status).toBe(200);
    return reply.body.data!;
  };
  const lastRecord = async () =>
    (await t.db.query<Record<string, any>>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!;

  beforeAll(async () => {
    t = await create();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    const { broker } = kh;
    handle = useOfficerRoutes({ db: broker.db, config: broker.config, tokenKeys: broker.tokenKeys, secrets: broker.secrets, log: silentLog }).handleOfficerRequest;
    await seedAuditTrail(kh);
    dpo = await kh.token('dpo');
  });
  afterAll(async () => {
    await kh.close();
    await t.drop();
  });

  it('lists the access log newest first, filtered by agent, decision, table, field and jurisdiction', async () => {
    const fields = 'seq actorKind actorId decision code rowCount subjectCount tables jurisdictions fields { table field mask special }';
    const all = await data(`{ accessLog(limit: 100, filter: { actorKinds: [agent, anonymous] }) { ${fields} } accessCount(filter: { actorKinds: [agent, anonymous] }) }`);
    expect(all.accessLog.map((r: any) => r.actorId)).toEqual(['kyc-bot', 'analytics-bot', 'analytics-bot', null, 'fraud-bot', 'support-bot']);
    expect(all.accessCount).toBe(6);

    const support = (await data(`{ accessLog(filter: { agent: "support-bot" }) { ${fields} } }`)).accessLog;
    expect(support).toHaveLength(1);
    expect(support[0]).toMatchObject({ decision: 'allowed', rowCount: 5, subjectCount: 5, tables: ['customers'], jurisdictions: ['CN', 'EU-DE', 'EU-FR', 'IN', 'SG'] });
    expect(support[0].fields).toContainEqual({ table: 'customers', field: 'residency', mask: 'clear', special: false });

    const denied = (await data(`{ accessLog(filter: { decision: denied, actorKinds: [anonymous] }) { ${fields} } }`)).accessLog;
    expect(denied).toEqual([expect.objectContaining({ actorKind: 'anonymous', actorId: null, code: 'UNAUTHENTICATED' })]);

    const byField = (await data(`{ accessLog(filter: { table: "health_claims", field: "diagnosis_code" }) { ${fields} } }`)).accessLog;
    expect(byField.map((r: any) => r.actorId)).toEqual(['kyc-bot']);
    expect(byField[0].fields[0]).toEqual({ table: 'health_claims', field: 'diagnosis_code', mask: 'generalise', special: true });

    const usca = (await data(`{ accessLog(filter: { jurisdiction: "US-CA" }) { ${fields} } }`)).accessLog;
    expect(usca.map((r: any) => r.actorId)).toEqual(['fraud-bot']);
  });

  it('filters by time range (from inclusive, to exclusive) and pages', async () => {
    const now = Date.now();
    const range = { from: new Date(now - 3.5 * DAY).toISOString(), to: new Date(now - 1 * DAY).toISOString() };
    const old = (await data('query($f: AuditFilter) { accessLog(filter: $f) { actorId } }', { f: range })).accessLog;
    expect(old.map((r: any) => r.actorId)).toEqual(['kyc-bot', 'analytics-bot', 'analytics-bot']);
    const page = (await data('{ accessLog(limit: 2, offset: 1, filter: { actorKinds: [agent] }) { actorId } }')).accessLog;
    expect(page.map((r: any) => r.actorId)).toEqual(['analytics-bot', 'analytics-bot']);
  });

  it('treats filter values as data, never as SQL', async () => {
    const reply = await data(`{ accessLog(filter: { agent: "x' OR '1'='1" }) { seq } accessCount(filter: { table: "customers') OR TRUE --" }) }`);
    expect(reply.accessLog).toEqual([]);
    expect(reply.accessCount).toBe(0);
  });

  it('summarises each agent: requests, decisions, rows, distinct subjects and ε', async () => {
    const { agentSummaries } = await data('{ agentSummaries(filter: { actorKinds: [agent, anonymous] }) { actorKind agent location requests allowed denied errors rows distinctSubjects epsilonSpent } }');
    const by = new Map(agentSummaries.map((s: any) => [s.agent ?? s.actorKind, s]));
    expect(by.get('support-bot')).toEqual({ actorKind: 'agent', agent: 'support-bot', location: 'SG', requests: 1, allowed: 1, denied: 0, errors: 0, rows: 5, distinctSubjects: 5, epsilonSpent: 0 });
    expect(by.get('fraud-bot')).toMatchObject({ location: 'EU-DE', requests: 1, rows: 5, distinctSubjects: 4 });
    expect(by.get('analytics-bot')).toMatchObject({ requests: 2, allowed: 2, epsilonSpent: 0.75 });
    expect(by.get('anonymous')).toMatchObject({ agent: null, requests: 1, allowed: 0, denied: 1 });

    const recent = (await data('query($from: DateTime) { agentSummaries(from: $from, filter: { actorKinds: [agent] }) { agent } }', { from: new Date(Date.now() - DAY).toISOString() })).agentSummaries;
    expect(recent.map((s: any) => s.agent).sort()).toEqual(['fraud-bot', 'support-bot']);
  });

  it('counts accesses per day and decisions with their codes', async () => {
    const reply = await data('{ accessesByDay(filter: { actorKinds: [agent] }) { day actorId requests } decisionBreakdown(filter: { actorKinds: [agent, anonymous] }) { decision code count } }');
    const days = new Set(reply.accessesByDay.map((d: any) => d.day));
    expect(days.size).toBe(3);
    expect(reply.accessesByDay.reduce((n: number, d: any) => n + d.requests, 0)).toBe(5);
    expect(reply.decisionBreakdown).toEqual([
      { decision: 'allowed', code: null, count: 5 },
      { decision: 'denied', code: 'UNAUTHENTICATED', count: 1 },
    ]);
  });

  it('reports privacy spend per agent from the audit records, saying where it came from', async () => {
    const { privacyBudgets } = await data('{ privacyBudgets { source note agents { agent queries epsilonSpent deltaSpent rhoSpent epsilonBudget } } }');
    expect(privacyBudgets.source).toBe('audit_log.privacy_cost');
    expect(privacyBudgets.note).toMatch(/dp_ledger/);
    expect(privacyBudgets.agents).toEqual([{ agent: 'analytics-bot', queries: 2, epsilonSpent: 0.75, deltaSpent: 0, rhoSpent: 0, epsilonBudget: null }]);
  });

  it('lists compliance findings, by jurisdiction', async () => {
    const q = 'query($j: String) { findings(jurisdiction: $j) { agent rule severity jurisdiction message finding } }';
    const de = (await data(q, { j: 'EU-DE' })).findings;
    expect(de).toEqual([expect.objectContaining({ agent: 'kyc-bot', rule: 'special_category', severity: 'high', jurisdiction: 'EU-DE' })]);
    expect((await data(q, { j: 'JP' })).findings).toEqual([]);
  });

  it('builds the cross-border matrix agent location × subject jurisdiction', async () => {
    const { crossBorderFlows } = await data('{ crossBorderFlows { agentLocation subjectJurisdiction records subjects crossBorder } }');
    const cell = (from: string, to: string) => crossBorderFlows.find((c: any) => c.agentLocation === from && c.subjectJurisdiction === to);
    expect(crossBorderFlows).toHaveLength(9);
    expect(cell('SG', 'EU-DE')).toEqual({ agentLocation: 'SG', subjectJurisdiction: 'EU-DE', records: 1, subjects: 1, crossBorder: true });
    expect(cell('SG', 'SG')).toMatchObject({ records: 1, subjects: 1, crossBorder: false });
    expect(cell('EU-DE', 'US-CA')).toMatchObject({ records: 1, subjects: 1, crossBorder: true });
    expect(cell('EU-DE', 'EU-DE')).toMatchObject({ crossBorder: false });
    expect(cell('SG', 'US-CA')).toBeUndefined();

    const de = (await data('{ crossBorderFlows(filter: { jurisdiction: "EU-DE" }) { agentLocation subjectJurisdiction } }')).crossBorderFlows;
    expect(de.map((c: any) => `${c.agentLocation}>${c.subjectJurisdiction}`).sort()).toEqual(['EU-DE>EU-DE', 'SG>EU-DE']);
  });

  it('shows special-category fields returned to each agent', async () => {
    const { specialCategoryAccess } = await data('{ specialCategoryAccess { agent table field mask tags records rows } }');
    expect(specialCategoryAccess).toEqual([{ agent: 'kyc-bot', table: 'health_claims', field: 'diagnosis_code', mask: 'generalise', tags: ['special.health'], records: 1, rows: 1 }]);
  });

  it('answers who has seen a customer, from pseudonyms alone, and audits the lookup without the id', async () => {
    const q = 'query($id: ID!) { whoHasSeen(customerId: $id) { subject agents accesses { seq agent purpose subjectJurisdiction fields { field mask } } } }';
    const seenTwo = (await data(q, { id: '2' })).whoHasSeen;
    expect(seenTwo.subject).toBe(subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', 2));
    expect(seenTwo.agents).toEqual(['fraud-bot', 'support-bot']);
    expect(seenTwo.accesses[0]).toMatchObject({ agent: 'support-bot', purpose: 'customer_service', subjectJurisdiction: 'EU-DE' });
    expect(seenTwo.accesses[0].fields).toContainEqual({ field: 'segment', mask: 'clear' });
    expect((await data(q, { id: '3' })).whoHasSeen.agents).toEqual(['fraud-bot']);
    expect((await data(q, { id: '6' })).whoHasSeen.agents).toEqual(['support-bot']);
    expect((await data(q, { id: '999' })).whoHasSeen).toMatchObject({ agents: [], accesses: [] });

    const record = await lastRecord();
    expect(record.details.officerQueries).toEqual([{ field: 'whoHasSeen', args: { subject: subjectPseudonym(kh.broker.secrets.subjectKey, 'customer', 999) } }]);
    expect(JSON.stringify(record)).not.toMatch(/999/);
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

  it('verifies the audit chain, and finds a record changed behind its back', async () => {
    const intact = (await data('{ auditChainStatus { ok checked headSeq firstBad { seq problem } } }')).auditChainStatus;
    expect(intact).toMatchObject({ ok: true, firstBad: null });
    expect(intact.checked).toBe(intact.headSeq);
    await t.db.query("UPDATE audit_log SET row_count = 0 WHERE actor_id = 'fraud-bot'");
    const broken = (await data('{ auditChainStatus { ok firstBad { seq problem } } }')).auditChainStatus;
    expect(broken).toEqual({ ok: false, firstBad: { seq: 2, problem: 'changed' } });
  });
});
