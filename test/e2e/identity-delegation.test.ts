import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { buildComplianceReport, loadJurisdictionRules } from '../../src/compliance/index.ts';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import type { ClaimValue } from '../../src/policy/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, ENGINES, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-provider.ts';
import { projectWith } from '../support/project.ts';
import { useWorld } from '../support/world.ts';

// support-bot acting for a person (a delegated token, RFC 8693): schema/policies.yaml gives it, for that person, only
// the customers of the regions in the person's `regions` claim, and no phone number for a trainee. The world's
// customers: 1 SG, 2 EU-DE, 3 US-CA (outside the desk), 4 CN, 5 IN, 6 EU-FR; accounts 10/11 → 1, 20 → 2, 60 → 6.

const CUSTOMERS = '{ customers(limit: 50, orderBy: [{ field: id, direction: ASC }]) { id residency } }';

/** A delegated token of support-bot, minted as `keyhole token --agent support-bot --for <person> --claim …` does. */
function actingFor(kh: TestBroker, person: string, claims: Record<string, ClaimValue>): Promise<string> {
  return issueToken({
    keys: kh.broker.tokenKeys,
    registry: kh.broker.config.registry,
    subject: 'support-bot',
    ttlSeconds: parseTtl('1h'),
    onBehalfOf: { id: person, claims },
  });
}

const ADA = { regions: ['EU-DE', 'EU-FR'], role: 'clerk' };
const TOM = { regions: ['SG'], role: 'trainee' };

const idsOf = (reply: { body: { data?: Record<string, any> | null } }, field = 'customers') =>
  (reply.body.data![field] as Array<{ id: number }>).map((row) => row.id);

async function officerGraphql(kh: TestBroker, query: string, variables?: Record<string, unknown>) {
  const response = await kh.broker.fetch(
    new Request('http://keyhole.test/officer/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await kh.token('dpo')}` },
      body: JSON.stringify({ query, variables }),
    }),
  );
  return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

describe.each(ENGINES)('an agent acting for a person on $engine', ({ create }) => {
  const world = useWorld(create);

  async function lastRecord() {
    const { rows } = await world.t.db.query<{ actor_id: string; on_behalf_of: string | null; decision: string; code: string | null; request_id: string }>(
      'SELECT actor_id, on_behalf_of, decision, code, request_id FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return rows[0]!;
  }

  it("sees only the customers of its person's regions, in every table of the view", async () => {
    const ada = await actingFor(world.kh, 'ada', ADA);
    const customers = await world.kh.graphql(ada, CUSTOMERS);
    expect(customers.status).toBe(200);
    expect(customers.body.data?.customers).toEqual([
      { id: 2, residency: 'EU-DE' },
      { id: 6, residency: 'EU-FR' },
    ]);
    expect(idsOf(await world.kh.graphql(ada, '{ accounts(limit: 50) { id } }'), 'accounts').sort()).toEqual([20, 60]);
    // Undelegated, the bot keeps its whole desk (less CN, which transfer rules withhold): only the delegated view narrows.
    expect(idsOf(await world.kh.graphql(await world.kh.token('support-bot'), CUSTOMERS))).toEqual([1, 2, 5, 6]);
  });

  it("hides from a trainee's agent the field the policy keeps from trainees: absent from introspection and unqueryable", async () => {
    const tom = await actingFor(world.kh, 'tom', TOM);
    const fieldsOf = async (token: string) =>
      ((await world.kh.graphql(token, '{ __type(name: "Customer") { fields { name } } }')).body.data!.__type.fields as Array<{ name: string }>).map(
        (field) => field.name,
      );
    expect(await fieldsOf(tom)).not.toContain('phone');
    expect(await fieldsOf(await actingFor(world.kh, 'ada', ADA))).toContain('phone');
    const asked = await world.kh.graphql(tom, '{ customers { id phone } }');
    expect(asked.status).toBe(400);
    expect(asked.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(idsOf(await world.kh.graphql(tom, CUSTOMERS))).toEqual([1]);
  });

  it("never serves one person's rows to another, back to back with the same query text and variables", async () => {
    const query = 'query ($n: Int) { customers(limit: $n) { id } }';
    const ada = await actingFor(world.kh, 'ada', ADA);
    const tom = await actingFor(world.kh, 'tom', TOM);
    const answers: number[][] = [];
    for (const token of [ada, tom, ada, tom]) answers.push(idsOf(await world.kh.graphql(token, query, { n: 10 })).sort());
    expect(answers).toEqual([[2, 6], [1], [2, 6], [1]]);
    // Two people with the same claims share one compiled view (and its plans); another person's is another view.
    const sameClaims = await actingFor(world.kh, 'ann', ADA);
    expect(idsOf(await world.kh.graphql(sameClaims, query, { n: 10 })).sort()).toEqual([2, 6]);
  });

  it('records both principals, and the officer API finds what the agent fetched on the person’s behalf', async () => {
    const reply = await world.kh.graphql(await actingFor(world.kh, 'ada', ADA), '{ customers(limit: 5) { id email } }');
    expect(reply.status).toBe(200);
    expect(await lastRecord()).toMatchObject({ actor_id: 'support-bot', on_behalf_of: 'ada', decision: 'allowed', request_id: reply.requestId });
    const found = await officerGraphql(
      world.kh,
      'query ($person: String) { accessLog(filter: { onBehalfOf: $person, agent: "support-bot" }, limit: 100) { requestId actorId onBehalfOf rowCount } accessCount(filter: { onBehalfOf: $person }) }',
      { person: 'ada' },
    );
    expect(found.errors).toBeUndefined();
    const records = found.data?.accessLog as Array<{ requestId: string; actorId: string; onBehalfOf: string }>;
    expect(records.find((record) => record.requestId === reply.requestId)).toMatchObject({ actorId: 'support-bot', onBehalfOf: 'ada', rowCount: 2 });
    expect(records.every((record) => record.onBehalfOf === 'ada')).toBe(true);
    // Counted from the records themselves: the hourly summaries know no person, and must not answer for one.
    expect(Number(found.data?.accessCount)).toBe(records.length);
    // Undelegated requests name no one.
    await world.kh.graphql(await world.kh.token('support-bot'), CUSTOMERS);
    expect(await lastRecord()).toMatchObject({ actor_id: 'support-bot', on_behalf_of: null });
    expect((await verifyAuditChain(world.t.db, world.kh.broker.secrets.auditKey)).ok).toBe(true);
  });

  it("counts in the compliance report what agents fetched about a jurisdiction's subjects on each person's behalf", async () => {
    const { config } = world.kh.broker;
    const rules = await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions'));
    const period = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
    const report = (jurisdiction: string) =>
      buildComplianceReport(
        world.t.db,
        { jurisdiction, ...period },
        { catalog: config.catalog, registry: config.registry, rules, auditKey: world.kh.broker.secrets.auditKey },
      );
    const de = await report('EU-DE');
    expect(de.onBehalfOf.map(({ agent, person }) => `${agent} for ${person}`).sort()).toEqual(['support-bot for ada', 'support-bot for ann']);
    expect(de.onBehalfOf.find((d) => d.person === 'ada')).toMatchObject({ subjects: 1 });
    // Tom handles Singapore only: he appears in its report, never in Germany's.
    expect((await report('SG')).onBehalfOf.map((d) => d.person)).toEqual(['tom']);
  });

  it('refuses a delegated token lacking a claim the row filter needs, rather than guessing the rows (DELEGATION_CLAIM_MISSING)', async () => {
    const reply = await world.kh.graphql(await actingFor(world.kh, 'max', { role: 'clerk' }), CUSTOMERS);
    expect(reply.status).toBe(403);
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('DELEGATION_CLAIM_MISSING');
    expect(reply.body.data ?? null).toBeNull();
    expect(await lastRecord()).toMatchObject({ actor_id: 'support-bot', on_behalf_of: 'max', decision: 'denied', code: 'DELEGATION_CLAIM_MISSING' });
  });
});

// The shipped support policy, made to require delegation and to narrow a person to the customers they handle.
const REQUIRED_WITH_OWN_CUSTOMERS = {
  'schema/policies.yaml': (text: string) =>
    text.replace(
      '    delegation:\n      required: false\n',
      '    delegation:\n      required: true\n      rowFilter:\n        customers: { id: { in: { session: person.customer_ids } } }\n',
    ),
};

describe('a view that requires delegation and filters by the customers a person handles', () => {
  const world = useWorld(createPgliteTestDatabase, () => projectWith(REQUIRED_WITH_OWN_CUSTOMERS));

  it('refuses an undelegated token with DELEGATION_REQUIRED, audited, and serves a delegated one only its customers in its regions', async () => {
    const refused = await world.kh.graphql(await world.kh.token('support-bot'), CUSTOMERS);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('DELEGATION_REQUIRED');
    const { rows } = await world.t.db.query<{ actor_id: string; decision: string; code: string }>(
      'SELECT actor_id, decision, code FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    expect(rows[0]).toEqual({ actor_id: 'support-bot', decision: 'denied', code: 'DELEGATION_REQUIRED' });
    const ada = await actingFor(world.kh, 'ada', { ...ADA, customer_ids: ['2', '5'] });
    expect(idsOf(await world.kh.graphql(ada, CUSTOMERS))).toEqual([2]);
    const wide = await actingFor(world.kh, 'ada', { regions: ['EU-DE', 'IN', 'SG'], customer_ids: [2, 5] });
    expect(idsOf(await world.kh.graphql(wide, CUSTOMERS))).toEqual([2, 5]);
    const noCustomers = await world.kh.graphql(await actingFor(world.kh, 'ada', ADA), CUSTOMERS);
    expect(noCustomers.body.errors?.[0]?.extensions?.code).toBe('DELEGATION_CLAIM_MISSING');
  });
});

describe("a delegated token from a real OpenID provider's token exchange", () => {
  const resource = 'http://keyhole.test';
  let idp: TestIssuer;
  let t: TestDatabase;
  let kh: TestBroker;

  beforeAll(async () => {
    idp = await startTestIssuer({ resource, persons: { ada: ADA, tom: TOM } });
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    const issuers = { issuers: [{ issuer: idp.issuer, algorithms: ['ES256', 'EdDSA'], maxLifetime: '1h' }] };
    kh = await startTestBroker(t.db, { env: { KEYHOLE_RESOURCE: resource, KEYHOLE_ISSUERS: JSON.stringify(issuers) } });
  });
  afterAll(async () => {
    await kh?.close();
    await t?.drop();
    await idp?.stop();
  });

  it("gives the agent its person's rows and records both, as with a dev token", async () => {
    const exchanged = async (person: string) =>
      idp.exchangeToken('support-bot', { subjectToken: await idp.personToken(person), scope: 'purpose:customer_service' });
    const ada = await kh.graphql(await exchanged('ada'), CUSTOMERS);
    expect(ada.status).toBe(200);
    expect(idsOf(ada)).toEqual([2, 6]);
    const tom = await kh.graphql(await exchanged('tom'), CUSTOMERS);
    expect(idsOf(tom)).toEqual([1]);
    const { rows } = await t.db.query<{ actor_id: string; on_behalf_of: string }>('SELECT actor_id, on_behalf_of FROM audit_log WHERE request_id = $1', [
      ada.requestId,
    ]);
    expect(rows).toEqual([{ actor_id: 'support-bot', on_behalf_of: 'ada' }]);
  });
});
