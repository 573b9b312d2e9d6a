import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/limits.ts';
import { createBrokerServer } from '../../src/http/server.ts';
import { INPUT_LIMITS } from '../../src/graphql/index.ts';
import { QUERY_LIMITS } from '../../src/graphql/yoga.ts';
import type { GraphQLReply } from '../support/broker.ts';
import { useRedTeam } from './support.ts';

/** Attacks on the work a query asks for: its shape, its size, its number of operations. */
describe('red team: query shape and size', () => {
  const rt = useRedTeam();
  const asSupport = async (query: string, variables?: Record<string, unknown>) => rt.kh.graphql(await rt.token('support-bot'), query, variables);
  const asSupportRaw = async (body: string) => rt.post(await rt.token('support-bot'), body);
  const many = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i)).join(' ');
  const QUERY_LIMIT = { status: 400, code: 'QUERY_LIMIT_EXCEEDED' };
  const INVALID = { status: 400, code: 'INVALID_ARGUMENT' };
  const INVALID_QUERY = { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' };

  describe('alias amplification', () => {
    it('one alias over the limit, of the cheapest field', async () => {
      const [reply] = await rt.contained(() => asSupport(`{ ${many(QUERY_LIMITS.aliases + 1, (i) => `a${i}: __typename`)} }`), QUERY_LIMIT, { copies: 8 });
      expect(reply!.body.errors![0]!.message).toBe(`Aliases limit of ${QUERY_LIMITS.aliases} exceeded, found ${QUERY_LIMITS.aliases + 1}.`);
    });

    it('aliases within the limit, each a full page: the rows of the whole request are capped before any SQL', async () => {
      rt.sql.clear();
      await rt.contained(() => asSupport(`{ ${many(QUERY_LIMITS.aliases, (i) => `a${i}: customers(limit: 50) { id accounts(limit: 50) { id } }`)} }`), {
        status: 400,
        code: 'LIMIT_EXCEEDED',
      });
      const customerReads = () => rt.sql.statements.filter((text) => /FROM "customers" t0\b/.test(text));
      expect(customerReads()).toEqual([]);
      // The same read within the caps does show up here: the log above would have caught one.
      expect((await asSupport('{ customers(limit: 1) { id } }')).status).toBe(200);
      expect(customerReads()).toHaveLength(1);
    });

    it('a fragment spread doubling at every level (2^29 aliases from 30 short fragments)', async () => {
      let fragments = 'fragment F0 on Customer { id }';
      for (let i = 1; i < 30; i++) fragments += ` fragment F${i} on Customer { a${i}: full_name ...F${i - 1} ...F${i - 1} }`;
      await rt.contained(() => asSupport(`{ customers { ...F29 } } ${fragments}`), QUERY_LIMIT);
    });

    it('the same doubling without aliases: caught by the cost limit', async () => {
      let fragments = 'fragment F0 on Query { viewer { agent } }';
      for (let i = 1; i < 30; i++) fragments += ` fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`;
      const [reply] = await rt.contained(() => asSupport(`{ ...F29 } ${fragments}`), QUERY_LIMIT);
      expect(reply!.body.errors![0]!.message).toMatch(new RegExp(`^Query Cost limit of ${QUERY_LIMITS.cost} exceeded`));
    });
  });

  describe('deep nesting', () => {
    /** customers → accounts → customer → accounts …: `depth` fields deep, the leaf `id` included. */
    const nested = (depth: number) => {
      const path = Array.from({ length: depth - 1 }, (_, i) => (i === 0 ? 'customers(limit: 1)' : i % 2 === 1 ? 'accounts(limit: 1)' : 'customer'));
      return `{ ${path.reduceRight((inner, field) => `${field} { ${inner} }`, 'id')} }`;
    };

    it(`serves ${QUERY_LIMITS.depth} levels and refuses ${QUERY_LIMITS.depth + 1}`, async () => {
      expect((await asSupport(nested(QUERY_LIMITS.depth))).status).toBe(200);
      const [reply] = await rt.contained(() => asSupport(nested(QUERY_LIMITS.depth + 1)), QUERY_LIMIT, { copies: 4 });
      expect(reply!.body.errors![0]!.message).toBe(`Query depth limit of ${QUERY_LIMITS.depth} exceeded, found ${QUERY_LIMITS.depth + 1}.`);
    });

    it('counts depth through fragments', async () => {
      const query = `{ customers(limit: 1) { ...A } }
        fragment A on Customer { accounts(limit: 1) { ...B } }
        fragment B on Account { customer { ...A2 } }
        fragment A2 on Customer { accounts(limit: 1) { customer { accounts(limit: 1) { id } } } }`;
      await rt.contained(() => asSupport(query), QUERY_LIMIT);
    });

    it('refuses a filter nested past the input depth, inline or in a variable', async () => {
      let where = '{ id: { eq: 1 } }';
      for (let i = 0; i < INPUT_LIMITS.depth; i++) where = `{ and: [${where}] }`;
      await rt.contained(() => asSupport(`{ customers(where: ${where}) { id } }`), INVALID);
      const variable = Array.from({ length: INPUT_LIMITS.depth }).reduce<object>((w) => ({ and: [w] }), { id: { eq: 1 } });
      await rt.contained(() => asSupport('query($w: CustomerWhere) { customers(where: $w) { id } }', { w: variable }), INVALID);
    });

    it('refuses introspection nested three levels through fields, the schema-amplification query', async () => {
      let deep = 'name';
      for (let i = 0; i < 3; i++) deep = `fields { type { ofType { ${deep} } } }`;
      const [reply] = await rt.contained(() => asSupport(`{ __schema { types { ${deep} } } }`), INVALID_QUERY, { copies: 4 });
      expect(reply!.body.errors![0]!.message).toBe('Maximum introspection depth exceeded');
    });
  });

  describe('fragment cycles', () => {
    const doubling = (n: number) => `{ ...F0 } ${many(n, (i) => `fragment F${i} on Query { viewer { agent } ...F${(i + 1) % n} ...F${(i + 1) % n} }`)}`;
    it.each([
      ['a fragment spreading itself', '{ ...A } fragment A on Query { viewer { agent } ...A }', INVALID_QUERY],
      ['two fragments spreading each other', '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }', INVALID_QUERY],
      ['a cycle through nested selections', '{ customers { ...C } } fragment C on Customer { id accounts { customer { ...C } } }', INVALID_QUERY],
      // The cost limit walks fragments before validation does; it prices each fragment once, so a long cycle is
      // refused over its cost at once rather than walked forever, and doubling spreads cost no more time.
      ['a long cycle', `{ ...F0 } ${many(40, (i) => `fragment F${i} on Query { ...F${(i + 1) % 40} }`)}`, QUERY_LIMIT],
      ['a cycle of 60 fragments each spreading the next twice', doubling(60), QUERY_LIMIT],
    ])('%s is refused, the cycle named', async (_, query, refused) => {
      const [reply] = await rt.contained(() => asSupport(query), refused, { copies: 4 });
      expect(reply!.body.errors!.map((error) => error.message)).toContainEqual(expect.stringMatching(/^Cannot spread fragment "\w+" within itself/));
    });
  });

  describe('batching and operation smuggling', () => {
    it('refuses a JSON array of operations', async () => {
      const batch = JSON.stringify(Array.from({ length: 50 }, () => ({ query: '{ customers(limit: 50) { id } }' })));
      const [reply] = await rt.contained(() => asSupportRaw(batch), { status: 400, code: 'BAD_REQUEST' });
      expect(reply!.body.errors![0]!.message).toBe('Batching is not supported.');
    });

    it('refuses several operations without a choice, and a choice naming none of them', async () => {
      const two = 'query A { viewer { agent } } query B { customers { id } }';
      await rt.contained(() => asSupport(two), { status: 400, code: 'OPERATION_RESOLUTION_FAILURE' });
      await rt.contained(() => asSupportRaw(JSON.stringify({ query: two, operationName: 'C' })), { status: 400, code: 'OPERATION_RESOLUTION_FAILURE' });
    });

    it('refuses parameters beyond query, variables, operationName and extensions', async () => {
      await rt.contained(() => asSupportRaw(JSON.stringify({ query: '{ viewer { agent } }', documentId: 'x', batch: [] })), {
        status: 400,
        code: 'BAD_REQUEST',
      });
    });

    it.each(['mutation', 'subscription'])('refuses a %s: the view has none', async (kind) => {
      const [reply] = await rt.contained(() => asSupport(`${kind} { viewer { agent } }`), INVALID_QUERY);
      expect(reply!.body.errors![0]!.message).toBe(`This endpoint has no ${kind} operations.`);
    });
  });

  describe('oversized inputs', () => {
    // graphql-armor's token limit stops the parser, so it is a parse failure (not QUERY_LIMIT_EXCEEDED).
    it('refuses a document over the token limit', async () => {
      const [reply] = await rt.contained(() => asSupport(`{ ${many(QUERY_LIMITS.tokens / 3, () => 'viewer { agent }')} }`), {
        status: 400,
        code: 'GRAPHQL_PARSE_FAILED',
      });
      expect(reply!.body.errors![0]!.message).toBe(`Syntax Error: Token limit of ${QUERY_LIMITS.tokens} exceeded.`);
    });

    it.each([
      ['a string one character over the limit', '{ customers(where: { full_name: { eq: "$long" } }) { id } }'],
      ['an Int beyond 32 bits', '{ customers(limit: 99999999999999999999) { id } }'],
      ['a BigInt beyond 64 bits', '{ customers(where: { id: { eq: "99999999999999999999" } }) { id } }'],
      ['an offset beyond the largest', '{ customers(offset: 1000000000) { id } }'],
      ['a list over the item limit', `{ customers(where: { id: { in: [${many(INPUT_LIMITS.listItems + 1, String)}] } }) { id } }`],
    ])('refuses %s inline', async (_, query) => {
      await rt.contained(() => asSupport(query.replace('$long', 'x'.repeat(INPUT_LIMITS.stringLength + 1))), INVALID);
    });

    it.each([
      [
        'a string one character over the limit',
        'query($v: String) { customers(where: { full_name: { eq: $v } }) { id } }',
        'x'.repeat(INPUT_LIMITS.stringLength + 1),
      ],
      ['a non-finite number (1e400)', 'query($v: Int) { customers(limit: $v) { id } }', '1e400'],
      ['a list over the item limit', 'query($v: [String!]) { customers(where: { city: { in: $v } }) { id } }', Array(INPUT_LIMITS.listItems + 1).fill('x')],
    ])('refuses %s in a variable', async (_, query, value) => {
      // 1e400 as JSON text: JSON.stringify cannot write it, and JSON.parse reads it as Infinity.
      const body = JSON.stringify({ query, variables: { v: value } }).replace('"1e400"', '1e400');
      await rt.contained(() => asSupportRaw(body), INVALID);
    });

    it('refuses a 15 KB token (under Node header limit) as an invalid token, and records only 64 characters of its claim', async () => {
      const claims = Buffer.from(JSON.stringify({ sub: 's'.repeat(10_000) })).toString('base64url');
      const [reply] = await rt.contained(() => rt.kh.graphql(`eyJhbGciOiJFZERTQSJ9.${claims}.${'A'.repeat(1000)}`, '{ viewer { agent } }'), {
        status: 401,
        code: 'TOKEN_INVALID',
      });
      expect((await rt.audit(reply!.requestId!))[0]!.details).toEqual({ claimedAgent: 's'.repeat(64), rulesVersion: expect.any(Number) });
    });

    it('refuses an operation name too long to record, sent or written in the document, and records the refusal without it', async () => {
      const name = (n: number) => `Q${'x'.repeat(n - 1)}`;
      const viaEnvelope = () => asSupportRaw(JSON.stringify({ query: `query ${name(2000)} { viewer { agent } }`, operationName: name(2000) }));
      const viaDocument = () => asSupport(`query ${name(INPUT_LIMITS.stringLength + 1)} { viewer { agent } }`);
      for (const attack of [viaEnvelope, viaDocument]) {
        const [reply] = await rt.contained(attack, { status: 400, code: 'BAD_REQUEST' }, { copies: 2 });
        expect((await rt.audit(reply!.requestId!))[0]!.operation_name).toBeNull();
      }
      const longest = await asSupport(`query ${name(INPUT_LIMITS.stringLength)} { viewer { agent } }`);
      expect(longest.status).toBe(200);
      expect((await rt.audit(longest.requestId!))[0]!.operation_name).toBe(name(INPUT_LIMITS.stringLength));
    });

    it('refuses a body over the server limit with 413, and records it', async () => {
      const limits = { ...DEFAULT_HTTP_LIMITS, maxBodyBytes: 64 * 1024 };
      // The broker's own server, but never shut down here: that would drain the broker the other tests use.
      const { server } = createBrokerServer(rt.kh.broker.listener, limits, rt.kh.broker.drain);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      const token = await rt.token('support-bot');
      const huge = async (): Promise<GraphQLReply> => {
        const body = JSON.stringify({ query: `{ customers(where: { full_name: { in: ${JSON.stringify(Array(40_000).fill('abcdefgh'))} } }) { id } }` });
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
        return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: (await response.json()) as GraphQLReply['body'] };
      };
      try {
        await rt.contained(huge, { status: 413, code: 'PAYLOAD_TOO_LARGE' }, { copies: 4 });
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
