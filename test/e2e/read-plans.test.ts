import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentPrincipal } from '../../src/identity/index.ts';
import { loadMaskingStage } from '../../src/masking/index.ts';
import { type GraphQLReply, PROJECT_ROOT } from '../support/broker.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

// A read's plan (its SQL, parameters, masking and audit shape) is made once per view, document and variables, and
// reused: a request answered from a cached plan must be the answer, and the record, that planning it again gives.

const PURPOSES = { 'support-bot': 'customer_service', 'fraud-bot': 'fraud_detection', 'kyc-bot': 'kyc_verification' } as const;
type Agent = keyof typeof PURPOSES;
type Shape = { query: string; variables?: Record<string, unknown> };

/** support-bot's read shapes, as the other e2e suites ask them. */
const SUPPORT_SHAPES: Record<string, Shape> = {
  'plain rows': { query: '{ customers(limit: 5) { id full_name residency segment } }' },
  'a full page of masked fields': { query: '{ customers(limit: 50) { id full_name email phone postal_code city residency segment created_at } }' },
  'where filters': { query: '{ customers(where: { or: [{ residency: { in: ["SG", "EU-DE"] } }, { not: { id: { lt: 5 } } }] }) { id email } }' },
  'orderBy, limit and offset': { query: '{ customers(limit: 2, offset: 2, orderBy: [{ field: id, direction: DESC }]) { id full_name } }' },
  'nested many and one relations with their own arguments': {
    query:
      '{ customers(limit: 3) { id accounts(limit: 1, orderBy: [{ field: id, direction: DESC }], where: { kind: { ne: "credit" } }) { id kind customer { id email } } } }',
  },
  aliases: { query: '{ a: customers(limit: 2) { key: id email } b: customers(limit: 2, offset: 1) { id phone } c: accounts(limit: 2) { id } }' },
  fragments: {
    query:
      'query Q { ...Root } fragment Root on Query { customers(limit: 3) { ...Contact ... on Customer { accounts { id } } } } fragment Contact on Customer { id email phone }',
  },
  variables: {
    query: 'query($w: CustomerWhere, $n: Int) { customers(where: $w, limit: $n) { id city } }',
    variables: { w: { city: { eq: 'Berlin' } }, n: 5 },
  },
};

/** fraud-bot's nested relations (its lookups by the pseudonyms it was shown have a test of their own). */
const FRAUD_SHAPES: Record<string, Shape> = {
  'a nested one relation': { query: '{ transactions(limit: 5) { id amount note account { id customer_id } } }' },
  'a nested many relation with its own arguments': {
    query: '{ accounts(limit: 3) { id transactions(limit: 1, orderBy: [{ field: amount, direction: DESC }]) { id amount } } }',
  },
};

interface AuditedRequest {
  record: Record<string, unknown>;
  subjects: Record<string, unknown> | null;
}

describe.each(ENGINES)('compiled read plans on $engine', ({ create }) => {
  const world = useWorld(create);
  const tokens = new Map<Agent, string>();
  beforeAll(async () => {
    for (const agent of Object.keys(PURPOSES) as Agent[]) tokens.set(agent, await world.kh.token(agent, PURPOSES[agent]));
  });

  /** The plans of an agent's view (the view the broker serves it, built now if no request has yet). */
  const plansOf = (agent: Agent) => {
    const principal: AgentPrincipal = {
      kind: 'agent',
      id: agent,
      agent: world.kh.broker.config.registry.agents.get(agent)!,
      purpose: PURPOSES[agent],
      tokenId: 'read-plans-test',
      expiresAt: new Date(Date.now() + 3_600_000),
    };
    return world.kh.broker.views.get(principal).readPlans;
  };

  /** A request's audit record and its data subjects, without what differs by design from one request to the next. */
  async function recordOf(reply: GraphQLReply): Promise<AuditedRequest> {
    const { rows } = await world.t.db.query<Record<string, unknown>>(
      `SELECT actor_id, purpose, operation_kind, operation_name, operation_hash, decision, code, reason, tables, fields, row_count,
              subject_count, subjects_digest, jurisdictions, privacy_cost, findings, details, seq::int8 AS seq
       FROM audit_log WHERE request_id = $1`,
      [reply.requestId],
    );
    expect(rows).toHaveLength(1);
    const { seq, ...record } = rows[0]!;
    const lists = await world.t.db.query<Record<string, unknown>>('SELECT subjects, jurisdictions FROM audit_subject_lists WHERE audit_seq = $1', [seq]);
    return { record, subjects: lists.rows[0] ?? null };
  }

  /**
   * Several root fields resolve concurrently, each adding to the record as its statement returns: on a pool, in no
   * fixed order. Their records are compared with the lists in that order sorted (one root field's stay as they are).
   */
  function arrivalOrderless({ record, subjects }: AuditedRequest): AuditedRequest {
    const sorted = (list: unknown) => (list as unknown[]).map((item) => JSON.stringify(item)).sort();
    const details = record.details as { withheld?: unknown[] };
    const people = subjects as { subjects: string[]; jurisdictions: Array<string | null> } | null;
    return {
      record: { ...record, fields: sorted(record.fields), details: { ...details, withheld: details.withheld && sorted(details.withheld) } },
      subjects: people && { pairs: sorted(people.subjects.map((subject, i) => [subject, people.jurisdictions[i]])) },
    };
  }

  /** Asks twice: the first plans (a new plan is kept), the second is answered from that plan, identically. */
  async function askTwice(agent: Agent, query: string, variables?: Record<string, unknown>): Promise<{ reply: GraphQLReply; record: AuditedRequest }> {
    const plans = plansOf(agent);
    const before = plans.size;
    const first = await world.kh.graphql(tokens.get(agent)!, query, variables);
    expect(plans.size).toBeGreaterThan(before);
    const planned = plans.size;
    const second = await world.kh.graphql(tokens.get(agent)!, query, variables);
    expect(plans.size).toBe(planned);
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    const record = await recordOf(first);
    const comparable = Object.keys(first.body.data ?? {}).length > 1 ? arrivalOrderless : (audited: AuditedRequest) => audited;
    expect(comparable(await recordOf(second))).toEqual(comparable(record));
    return { reply: first, record };
  }

  it.each(Object.entries(SUPPORT_SHAPES))("answers support-bot's %s from a cached plan exactly as planned afresh", async (_, { query, variables }) => {
    const { reply, record } = await askTwice('support-bot', query, variables);
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(record.record.row_count).toBeGreaterThan(0);
    expect(record.subjects).not.toBeNull();
  });

  it.each(Object.entries(FRAUD_SHAPES))("answers fraud-bot's %s from a cached plan exactly as planned afresh", async (_, { query, variables }) => {
    const { reply, record } = await askTwice('fraud-bot', query, variables);
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(record.record.row_count).toBeGreaterThan(0);
  });

  it('answers a lookup by a masked token from a cached plan, and another token from a plan of its own', async () => {
    const shown = await world.kh.graphql(tokens.get('fraud-bot')!, '{ accounts(where: { id: { in: [10, 20] } }) { id customer_id } }');
    const [first, second] = (shown.body.data!.accounts as Array<{ id: number; customer_id: string }>).map((a) => a.customer_id);
    const lookup = 'query($c: [String!]) { accounts(where: { customer_id: { in: $c } }) { id customer_id } }';
    const { reply, record } = await askTwice('fraud-bot', lookup, { c: [first] });
    expect(reply.body.data!.accounts).toEqual([
      { id: 10, customer_id: first },
      { id: 11, customer_id: first },
    ]);
    expect(record.record.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'customer_id', mask: 'pseudonymize' })]));
    const other = await askTwice('fraud-bot', lookup, { c: [second] });
    expect(other.reply.body.data!.accounts).toEqual([{ id: 20, customer_id: second }]);
  });

  it('gives other variable values a plan of their own: @skip and @include follow each request', async () => {
    const query = 'query($brief: Boolean!) { customers(limit: 2) { id email @skip(if: $brief) accounts @include(if: $brief) { id } } }';
    const full = await askTwice('support-bot', query, { brief: false });
    const brief = await askTwice('support-bot', query, { brief: true });
    expect(full.reply.body.data!.customers).toEqual([
      { id: 1, email: 'w***@example.sg' },
      { id: 2, email: 'j***@example.de' },
    ]);
    expect(brief.reply.body.data!.customers).toEqual([
      { id: 1, accounts: [{ id: 10 }, { id: 11 }] },
      { id: 2, accounts: [{ id: 20 }] },
    ]);
    expect(full.record.record.tables).toEqual(['customers']);
    expect(brief.record.record.tables).toEqual(['accounts', 'customers']);
  });

  it('shares one plan between the same variable values sent in another order', async () => {
    const query = 'query($w: CustomerWhere) { customers(where: $w) { id } }';
    const { reply } = await askTwice('support-bot', query, { w: { city: { eq: 'Berlin' }, residency: { in: ['EU-DE'] } } });
    const size = plansOf('support-bot').size;
    const reordered = await world.kh.graphql(tokens.get('support-bot')!, query, { w: { residency: { in: ['EU-DE'] }, city: { eq: 'Berlin' } } });
    expect(reordered.body).toEqual(reply.body);
    expect(plansOf('support-bot').size).toBe(size);
  });

  it("keeps each view's plans to itself: one document, two agents, each answered and masked under its own view", async () => {
    const query = '{ accounts(where: { id: { in: [20, 10] } }) { id customer_id } }';
    const support = await askTwice('support-bot', query);
    const fraud = await askTwice('fraud-bot', query);
    expect(support.reply.body.data!.accounts).toEqual([
      { id: 10, customer_id: 1 },
      { id: 20, customer_id: 2 },
    ]);
    for (const account of fraud.reply.body.data!.accounts as Array<{ customer_id: string }>) expect(account.customer_id).toMatch(/^cus_[a-z2-7]{26}$/);
  });

  it('plans a field merged from several nodes every time: a fragment merges with each operation differently', async () => {
    const plans = plansOf('support-bot');
    const size = plans.size;
    const document =
      'query A { ...F customers(limit: 2) { email } } query B { ...F customers(limit: 2) { phone } } fragment F on Query { customers(limit: 2) { id } }';
    const ask = async (operationName: string) => {
      const response = await world.kh.broker.fetch(
        new Request('http://keyhole.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get('support-bot')}` },
          body: JSON.stringify({ query: document, operationName }),
        }),
      );
      return ((await response.json()) as { data: { customers: unknown[] } }).data.customers;
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await ask('A')).toEqual([
        { id: 1, email: 'w***@example.sg' },
        { id: 2, email: 'j***@example.de' },
      ]);
      expect(await ask('B')).toEqual([
        { id: 1, phone: '+65 **** 4567' },
        { id: 2, phone: '+49 *** *****78' },
      ]);
    }
    expect(plans.size).toBe(size);
  });

  it('keeps no plan for a read with large arguments, in its variables or written in the document', async () => {
    const plans = plansOf('support-bot');
    const size = plans.size;
    const cities = ['Berlin', ...Array.from({ length: 999 }, (_, i) => `Nowhere in particular ${i}`)];
    const asked = [
      { query: 'query($c: [String!]) { customers(where: { city: { in: $c } }) { id city } }', variables: { c: cities } },
      { query: `{ customers(where: { city: { in: ${JSON.stringify(cities)} } }) { id city } }` },
    ];
    for (const { query, variables } of asked) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const reply = await world.kh.graphql(tokens.get('support-bot')!, query, variables);
        expect(reply.body.data!.customers).toEqual([{ id: 2, city: 'Berlin' }]);
      }
    }
    expect(plans.size).toBe(size);
  });

  it('refuses the second time too what planning refuses, and keeps no plan for it', async () => {
    const plans = plansOf('support-bot');
    const size = plans.size;
    for (const [query, code] of [
      ['{ customers(limit: 51) { id } }', 'LIMIT_EXCEEDED'],
      ['{ customers(offset: 100001) { id } }', 'INVALID_ARGUMENT'],
      ['{ customers(limit: 1) { id accounts(limit: 0) { id } } }', 'LIMIT_EXCEEDED'],
    ] as const) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const reply = await world.kh.graphql(tokens.get('support-bot')!, query);
        expect(reply.body.errors?.[0]?.extensions?.code, query).toBe(code);
        expect(reply.body.data?.customers ?? null).toBeNull();
      }
    }
    expect(plans.size).toBe(size);
  });

  it('asks for approval on every request that reads a reserved field, its plan cached or not', async () => {
    const query = '{ customers(limit: 2) { id national_id } }';
    for (let attempt = 0; attempt < 2; attempt++) {
      const reply = await world.kh.graphql(tokens.get('kyc-bot')!, query);
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    }
    expect(plansOf('kyc-bot').size).toBe(1);
  });

  it('applies reloaded masking rules at once: no plan made under the old rules is used', async () => {
    const query = '{ customers(where: { id: { in: [1, 2] } }) { id phone } }';
    const phones = async () => {
      const reply = await world.kh.graphql(tokens.get('support-bot')!, query);
      return { phones: (reply.body.data!.customers as Array<{ phone: string }>).map((c) => c.phone), record: await recordOf(reply) };
    };
    const masked = await askTwice('support-bot', query);
    expect((masked.reply.body.data!.customers as Array<{ phone: string }>).map((c) => c.phone)).toEqual(['+65 **** 4567', '+49 *** *****78']);
    const { decider } = await loadMaskingStage(PROJECT_ROOT, world.kh.broker.config, world.kh.broker.secrets);
    const before = plansOf('support-bot');
    world.kh.broker.views.setDecider({
      version: `${decider.version}+phones-in-clear`,
      decide: (table, column, scope) =>
        table.name === 'customers' && column.name === 'phone' ? { kind: 'clear', rule: 'test: phones in clear' } : decider.decide(table, column, scope),
    });
    try {
      const reloaded = await phones();
      expect(reloaded.phones).toEqual(['+65 9123 4567', '+49 151 2345678']);
      expect(reloaded.record.record.fields).toContainEqual({ table: 'customers', field: 'phone', mask: 'clear', rule: 'test: phones in clear' });
      expect(plansOf('support-bot')).not.toBe(before);
      expect(plansOf('support-bot').size).toBe(1);
    } finally {
      world.kh.broker.views.setDecider(decider);
    }
    expect((await phones()).phones).toEqual(['+65 **** 4567', '+49 *** *****78']);
  });
});
