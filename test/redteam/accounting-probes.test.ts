import { beforeEach, describe, expect, it } from 'vitest';
import type { GraphQLReply } from '../support/broker.ts';
import { epsilonSpent, storedDpAnswers } from '../support/dp.ts';
import { useRedTeam } from './support.ts';

/**
 * A hostile analytics agent with its own token, trying to get more privacy releases than it pays for: the same
 * aggregate asked many ways in one request, transports that skip the request's pipeline, and rewordings of one
 * question. Each release is charged once, nothing is released unless all of the request's releases fit, and a
 * question asked again is the same question only when it is the same query.
 */
describe('red team: privacy accounting through GraphQL', () => {
  const rt = useRedTeam();
  const COUNT = '{ groups { count { value } } replayed }';

  beforeEach(async () => {
    await rt.t.db.exec('DELETE FROM dp_budget; DELETE FROM dp_answers;');
  });

  const spent = () => epsilonSpent(rt.t.db, 'analytics-bot');
  const stored = () => storedDpAnswers(rt.t.db);
  const ask = async (query: string, variables?: Record<string, unknown>) => rt.kh.graphql(await rt.token('analytics-bot'), query, variables);
  /** The privacy cost the request's audit record lists: its total and each release. */
  const costOf = async (reply: GraphQLReply) =>
    (
      await rt.t.db.query<{ privacy_cost: { epsilon: number; releases: Array<{ epsilon: number; replayed: boolean }> } }>(
        'SELECT privacy_cost FROM audit_log WHERE request_id = $1',
        [reply.requestId],
      )
    ).rows[0]!.privacy_cost;

  it('charges one aggregate once however the request repeats it: alias, fragment, inline fragment, nested fragments, @include', async () => {
    const retail = 'customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" } })';
    const reply = await ask(
      `query($yes: Boolean!, $no: Boolean!) {
        ${retail} ${COUNT}
        a: ${retail} ${COUNT}
        ... on Query { b: ${retail} ${COUNT} }
        ...Spread
        d: ${retail} @include(if: $yes) { ...Groups replayed }
        skipped: customers_aggregate(epsilon: 1, where: { segment: { eq: "premier" } }) @skip(if: $yes) ${COUNT}
        excluded: customers_aggregate(epsilon: 1, where: { segment: { eq: "business" } }) @include(if: $no) ${COUNT}
      }
      fragment Spread on Query { c: ${retail} { groups { ...Count } replayed } }
      fragment Groups on CustomerAggregate { groups { ...Count } }
      fragment Count on CustomerAggregateGroup { count { value } }`,
      { yes: true, no: false },
    );
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const data = reply.body.data!;
    expect(Object.keys(data).sort()).toEqual(['a', 'b', 'c', 'customers_aggregate', 'd']);
    // Every copy shows the one noisy answer, and exactly one of them is the release.
    for (const key of ['a', 'b', 'c', 'd']) expect(data[key].groups, key).toEqual(data.customers_aggregate.groups);
    expect(Object.values(data).filter((answer) => !answer.replayed)).toHaveLength(1);
    expect(await spent()).toBe(1);
    const cost = await costOf(reply);
    expect(cost.epsilon).toBe(1);
    expect(cost.releases.filter((r) => !r.replayed).map((r) => r.epsilon)).toEqual([1]);
    // Selecting no aggregate (only type names) releases nothing, so it cannot be an uncharged release either.
    await rt.contained(() => ask('{ __typename customers_aggregate(epsilon: 1) { __typename groups { __typename key { __typename } } } }'), {
      status: 400,
      code: 'INVALID_ARGUMENT',
    });
    expect(await spent()).toBe(1);
  });

  it('counts a repeated aggregate once against what remains, and releases nothing when the distinct ones do not fit', async () => {
    // 18 of the 20 ε spent in nine distinct releases: 2 remain.
    for (let i = 0; i < 9; i++) expect((await ask(`{ customers_aggregate(epsilon: 2, where: { city: { ne: "x${i}" } }) ${COUNT} }`)).status).toBe(200);
    expect(await spent()).toBe(18);
    const x = 'customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" } })';
    const y = 'accounts_aggregate(epsilon: 1)';
    const z = 'transactions_aggregate(epsilon: 1)';
    const copies = `a: ${x} ${COUNT} b: ${x} ${COUNT} ... on Query { c: ${x} ${COUNT} }`;
    const answersBefore = await stored();
    await rt.contained(() => ask(`{ ${copies} ${y} ${COUNT} ${z} ${COUNT} }`), { status: 403, code: 'BUDGET_EXHAUSTED' });
    expect(await spent()).toBe(18);
    expect(await stored()).toBe(answersBefore);
    // Without the third distinct release the request fits exactly: the three copies of x cost one ε.
    const fits = await ask(`{ ${copies} ${y} ${COUNT} }`);
    expect(fits.status, JSON.stringify(fits.body)).toBe(200);
    expect(await spent()).toBe(20);
  });

  it('releases nothing and charges nothing through GET, a form post, a batch, a persisted-query hash or @defer', async () => {
    const query = '{ customers_aggregate(epsilon: 1) { groups { count { value } } } }';
    const token = await rt.token('analytics-bot');
    const raw = async (init: RequestInit, path = '/graphql'): Promise<GraphQLReply> => {
      const response = await rt.kh.broker.fetch(
        new Request(`http://keyhole.test${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } }),
      );
      return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: (await response.json()) as GraphQLReply['body'] };
    };
    const hash = 'a'.repeat(64);
    for (const [attack, refused] of [
      [() => raw({ method: 'GET' }, `/graphql?query=${encodeURIComponent(query)}`), { status: 405, code: 'METHOD_NOT_ALLOWED' }],
      [
        () => raw({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${encodeURIComponent(query)}` }),
        { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      ],
      [() => rt.post(token, JSON.stringify([{ query }, { query }])), { status: 400, code: 'BAD_REQUEST' }],
      [() => rt.post(token, JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })), { status: 400, code: 'BAD_REQUEST' }],
      // An answer delivered in parts would leave before the spend that covers it is committed.
      [
        () => rt.post(token, JSON.stringify({ query: '{ ... @defer { customers_aggregate(epsilon: 1) { groups { count { value } } } } }' })),
        { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
      ],
    ] as const) {
      await rt.contained(attack, refused);
    }
    expect(await spent()).toBe(0);
    // A persisted-query extension riding along a full query changes nothing: the query is charged as itself.
    const alongside = await rt.post(token, JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }));
    expect(alongside.status, JSON.stringify(alongside.body)).toBe(200);
    expect(await spent()).toBe(1);
  });

  it('replays one query however it is written, and charges every different query that selects the same people', async () => {
    const inline = '{ customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" }, city: { ne: "x" } }) { groups { count { value } } replayed } }';
    const first = await ask(inline);
    expect(first.status).toBe(200);
    expect(await spent()).toBe(1);
    const rewritten = [
      ask('{ customers_aggregate(where: { city: { ne: "x" }, segment: { eq: "retail" } }, epsilon: 1.0) { groups { count { value } } replayed } }'),
      ask('query($w: CustomerAggregateWhere, $e: Float!) { customers_aggregate(epsilon: $e, where: $w) { groups { count { value } } replayed } }', {
        w: { segment: { eq: 'retail' }, city: { ne: 'x' } },
        e: 1,
      }),
    ];
    for (const reply of await Promise.all(rewritten)) {
      expect(reply.body.data!.customers_aggregate).toEqual({ ...first.body.data!.customers_aggregate, replayed: true });
    }
    expect(await spent()).toBe(1);
    // The same rows by other filters, at another ε or mechanism: each is a fresh release, and each is charged.
    const equivalent = [
      '{ customers_aggregate(epsilon: 1, where: { segment: { in: ["retail"] }, city: { ne: "x" } }) { groups { count { value } } replayed } }',
      '{ customers_aggregate(epsilon: 1, where: { and: [{ segment: { eq: "retail" } }, { city: { ne: "x" } }] }) { groups { count { value } } replayed } }',
      '{ customers_aggregate(epsilon: 1, where: { not: { segment: { ne: "retail" } }, city: { ne: "x" } }) { groups { count { value } } replayed } }',
      '{ customers_aggregate(epsilon: 1.5, where: { segment: { eq: "retail" }, city: { ne: "x" } }) { groups { count { value } } replayed } }',
    ];
    for (const query of equivalent) {
      const reply = await ask(query);
      expect(reply.body.data!.customers_aggregate.replayed, query).toBe(false);
    }
    expect(await spent()).toBe(5.5);
  });

  it("refuses a hidden field as an aggregate's `field` exactly like a field that never existed", async () => {
    const view = rt.view('analytics-bot');
    let probes = 0;
    for (const viewTable of view.tables.values()) {
      const hidden = [...viewTable.table.columns.keys()].filter((column) => !viewTable.fields.has(column));
      const visible = [...viewTable.fields.keys()];
      expect(hidden.length, viewTable.table.name).toBeGreaterThan(0);
      for (const op of ['sum(field: $)', 'avg(field: $)', 'quantile(field: $, q: 0.5)', 'stddev(field: $)']) {
        const query = (name: string) => `{ ${viewTable.table.name}_aggregate(epsilon: 1) { groups { ${op.replace('$', name)} { value } } } }`;
        const never = await ask(query('zz_never_existed'));
        const words = (reply: GraphQLReply, name: string) => reply.body.errors!.map((error) => error.message.replaceAll(name, '<name>'));
        for (const name of [...hidden, ...visible.filter((field) => !viewTable.fields.get(field)!.measurable)]) {
          const [reply] = await rt.contained(() => ask(query(name)), { status: 400, code: never.body.errors![0]!.extensions!.code as string });
          expect(words(reply!, name), `${viewTable.table.name}.${name} in ${op}`).toEqual(words(never, 'zz_never_existed'));
          probes += 1;
        }
      }
    }
    expect(probes).toBeGreaterThan(20);
    expect(await spent()).toBe(0);
  });
});
