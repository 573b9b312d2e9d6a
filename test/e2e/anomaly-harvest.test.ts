import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb } from '../../src/sql/index.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';
import { officerQuery } from './officer-fixtures.ts';

// The issue's scenario: support-bot answers customers' questions for a while, then starts harvesting (offset
// enumeration of the whole table, many people per request, fields it never asked for). Two brokers share one
// PostgreSQL; evaluations are ticked by the test instead of a timer, so nothing depends on timing.

/** Requests learned before anything is scored (schema/policies.yaml says 200; a test has less patience). */
const COLD_START = 40;
const NORMAL_REQUESTS = 80;
/** The bound this test states: the first harvesting request is refused, its data never sent. */
const HARVEST_BOUND = 1;
const EXTRA_CUSTOMERS = 300;

const LOOKUP = 'query Lookup($id: BigInt!) { customers(where: { id: { eq: $id } }) { id full_name email } }';
const WITH_ACCOUNTS = 'query Accounts($id: BigInt!) { customers(where: { id: { eq: $id } }) { id full_name email city accounts { kind currency } } }';
const BY_CITY = 'query ByCity($limit: Int!) { customers(where: { city: { eq: "Singapore" } }, limit: $limit) { id full_name city } }';
const HARVEST = 'query Harvest($offset: Int!) { customers(limit: 50, offset: $offset) { id full_name email phone postal_code segment } }';
const ANOMALIES = `query Anomalies($status: AnomalyStatus) {
  anomalies(status: $status, agent: "support-bot") { id purpose kind statistic detail value threshold score baseline requestId quarantines status recordSeq clearedBy note }
  quarantines { agent anomalies }
}`;

/** A small deterministic generator (mulberry32): the same "natural" variation on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** support-bot's usual day: one customer looked up, sometimes with their accounts, or a short list of one city. */
function normalRequests(count: number): Array<[string, Record<string, unknown>]> {
  const next = random(14);
  return Array.from({ length: count }, (_, i) => {
    const shape = i < 3 ? i : Math.floor(next() * 3);
    if (shape === 0) return [LOOKUP, { id: 1001 + Math.floor(next() * EXTRA_CUSTOMERS) }];
    if (shape === 1) return [WITH_ACCOUNTS, { id: [1, 2, 5, 6][Math.floor(next() * 4)] }];
    return [BY_CITY, { limit: 3 + Math.floor(next() * 6) }];
  });
}

describe('a harvesting agent on PostgreSQL with two brokers', () => {
  let t: TestDatabase;
  let first: TestBroker;
  let second: TestBroker;
  let token: string;
  let dpo: string;
  const officer = (query: string, variables?: Record<string, unknown>) => officerQuery((request) => first.broker.fetch(request), dpo, query, variables);

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    await t.db.query(
      `INSERT INTO customers (id, full_name, email, phone, national_id, birth_date, gender, postal_code, city, residency, segment, created_at)
       SELECT 1000 + g, 'Customer ' || g, 'customer' || g || '@example.sg', '+65 8000 ' || lpad(g::text, 4, '0'), 'S' || lpad(g::text, 7, '0') || 'A',
              date '1980-01-01' + g, 'F', lpad(g::text, 6, '0'), 'Singapore', 'SG', 'retail', '2024-01-01T00:00:00Z'
         FROM generate_series(1, $1::int) AS g`,
      [EXTRA_CUSTOMERS],
    );
    const root = await projectWith({ 'schema/policies.yaml': (text) => text.replace('anomalies:\n', `anomalies:\n  minObservations: ${COLD_START}\n`) });
    const env = { KEYHOLE_BASELINE_INTERVAL_MS: '0' };
    first = await startTestBroker(t.db, { root, env });
    second = await startTestBroker(createPgDb({ connectionString: t.url!, max: 4 }), { root, env, dataDir: first.dataDir });
    token = await first.token('support-bot');
    dpo = await first.token('dpo');
  });

  afterAll(async () => {
    await second?.broker.db.close();
    await second?.close();
    await first?.close();
    await t?.drop();
  });

  it('learns a normal phase of varied requests, served by both brokers, without an anomaly', async () => {
    for (const [i, [query, variables]] of normalRequests(NORMAL_REQUESTS).entries()) {
      const broker = i % 2 === 0 ? first : second;
      const reply = await broker.graphql(token, query, variables);
      expect(reply.status, `normal request ${i}`).toBe(200);
      expect(reply.body.data!.customers.length).toBeGreaterThan(0);
      if (i % 10 === 9) {
        await first.broker.baselines.tick();
        await second.broker.baselines.tick();
      }
    }
    // Every request learned, half of them after the cold start: scored, on the request path and by the evaluator.
    const { rows } = await t.db.query<{ state: { observations: number } }>("SELECT state FROM agent_baselines WHERE agent_id = 'support-bot'");
    expect(rows.map((row) => row.state.observations)).toEqual([NORMAL_REQUESTS]);
    expect((await officer(ANOMALIES)).body.data).toEqual({ anomalies: [], quarantines: [] });
  });

  it(`refuses the harvest within ${HARVEST_BOUND} request, raises its anomalies and quarantines the agent`, async () => {
    let answered = 0;
    let refused: Awaited<ReturnType<TestBroker['graphql']>> | undefined;
    for (let page = 0; page < 6 && !refused; page++) {
      const reply = await first.graphql(token, HARVEST, { offset: page * 50 });
      if (reply.status === 200) answered += 1;
      else refused = reply;
    }
    expect(answered).toBeLessThan(HARVEST_BOUND);
    expect(refused!.status).toBe(403);
    expect(refused!.body.data ?? null).toBeNull();
    expect(refused!.body.errors![0]!.extensions).toMatchObject({ code: 'APPROVAL_REQUIRED', quarantined: true });

    const { anomalies, quarantines } = (await officer(ANOMALIES, { status: 'open' })).body.data!;
    const found = anomalies.map((a: { statistic: string; detail: string | null }) => `${a.statistic}${a.detail ? ` ${a.detail}` : ''}`).sort();
    expect(found).toEqual(['newField customers.phone', 'newField customers.postal_code', 'newField customers.segment', 'rowsPerRequest', 'subjectsPerRequest']);
    const rows = anomalies.find((a: { statistic: string }) => a.statistic === 'rowsPerRequest');
    expect(rows).toMatchObject({ purpose: 'customer_service', kind: 'request', value: 50, quarantines: true, status: 'open', requestId: refused!.requestId });
    expect(rows.threshold).toBeLessThan(50);
    expect(rows.score).toBeGreaterThan(rows.baseline.zThreshold);
    expect(rows.baseline).toMatchObject({ observations: NORMAL_REQUESTS, zThreshold: 8 });
    expect(quarantines).toEqual([{ agent: 'support-bot', anomalies: expect.arrayContaining(anomalies.map((a: { id: string }) => a.id)) }]);

    // Each anomaly has an audit record of its own; the refused request has its own, as pending approval.
    const records = await t.db.query<{ operation_kind: string; actor_kind: string; details: Record<string, unknown> }>(
      'SELECT operation_kind, actor_kind, details FROM audit_log WHERE seq = ANY($1::bigint[]) ORDER BY seq',
      [anomalies.map((a: { recordSeq: number }) => a.recordSeq)],
    );
    expect(records.rows).toHaveLength(5);
    expect(records.rows.every((r) => r.operation_kind === 'anomaly' && r.actor_kind === 'cli' && r.details.agent === 'support-bot')).toBe(true);
    const request = await t.db.query('SELECT decision, code, row_count FROM audit_log WHERE request_id = $1', [refused!.requestId]);
    expect(request.rows).toEqual([{ decision: 'pending_approval', code: 'APPROVAL_REQUIRED', row_count: 0 }]);
  });

  it('keeps the agent in approval-required mode on every broker, for its usual requests too', async () => {
    const [query, variables] = normalRequests(1)[0]!;
    expect((await first.graphql(token, query, variables)).body.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    await second.broker.baselines.tick();
    const elsewhere = await second.graphql(token, query, variables);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.errors![0]!.extensions).toMatchObject({ code: 'APPROVAL_REQUIRED', quarantined: true });
    // Its refused requests teach the baseline nothing and raise nothing more.
    await first.broker.baselines.tick();
    expect((await officer(ANOMALIES, { status: 'open' })).body.data!.anomalies).toHaveLength(5);
    const { rows } = await t.db.query<{ state: { observations: number } }>("SELECT state FROM agent_baselines WHERE agent_id = 'support-bot'");
    expect(rows[0]!.state.observations).toBe(NORMAL_REQUESTS);
  });

  it("restores access everywhere once an officer clears the quarantine, the harvest's fields accepted with it", async () => {
    const cleared = await officer('mutation { clearQuarantine(agent: "support-bot", note: "Test harvest by the red team.") { id status clearedBy } }');
    expect(cleared.status).toBe(200);
    expect(cleared.body.data!.clearQuarantine).toHaveLength(5);
    expect(cleared.body.data!.clearQuarantine.every((a: { status: string; clearedBy: string }) => a.status === 'cleared' && a.clearedBy === 'dpo')).toBe(true);
    const again = await officer('mutation($id: ID!) { clearAnomaly(id: $id, note: "twice") { id } }', { id: cleared.body.data!.clearQuarantine[0].id });
    expect(again.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const silent = await officer('mutation { clearQuarantine(agent: "kyc-bot", note: " ") { id } }');
    expect(silent.body.errors![0]!.message).toMatch(/"note" must say why/);
    // The second broker has not refreshed since: it looks the quarantine up, and finds it over.
    const [query, variables] = normalRequests(1)[0]!;
    expect((await second.graphql(token, query, variables)).status).toBe(200);
    const phone = await first.graphql(token, 'query { customers(where: { id: { eq: 1001 } }) { id full_name phone } }');
    expect(phone.status).toBe(200);
    expect((await officer(ANOMALIES, { status: 'open' })).body.data).toEqual({ anomalies: [], quarantines: [] });
    const chain = await officer('{ auditChainStatus { ok } }');
    expect(chain.body.data!.auditChainStatus.ok).toBe(true);
  });
});
