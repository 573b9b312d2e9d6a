import { buildClientSchema, getIntrospectionQuery, type GraphQLSchema, type IntrospectionQuery, isEnumType, isInputObjectType, isObjectType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../../src/policy/index.ts';
import type { GraphQLReply } from '../support/broker.ts';
import { type Bystander, type RedTeam, useRedTeam } from './support.ts';

/** A name no catalog has: what a probe for a hidden name must be answered like. */
const NEVER = 'zz_never_existed';

interface Probe {
  what: string;
  query: (name: string) => string;
  variables?: (name: string) => Record<string, unknown>;
}

/** The schema types that belong to one table: its type and every type named after it (Where, OrderField, …). */
const typesOf = (schema: GraphQLSchema, graphqlType: string) =>
  Object.values(schema.getTypeMap()).filter((type) => new RegExp(`^${graphqlType}(?=[A-Z]|$)`).test(type.name));

/** The names `types` hold: fields, their arguments, input fields, enum values. */
function namesIn(types: ReturnType<typeof typesOf>): Set<string> {
  const names = new Set<string>();
  for (const type of types) {
    if (isObjectType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        names.add(field.name);
        for (const arg of 'args' in field ? field.args : []) names.add(arg.name);
      }
    }
    if (isEnumType(type)) for (const value of type.getValues()) names.add(value.name);
  }
  return names;
}

/** Every name the agent's own schema holds: its types' and everything in them. */
function visibleNames(schema: GraphQLSchema): Set<string> {
  const types = Object.values(schema.getTypeMap());
  return new Set([...types.map((type) => type.name), ...namesIn(types)]);
}

/**
 * A hostile agent rebuilds what its view hides from introspection, `__type` lookups, suggestions and the wording of
 * errors. Each view must look exactly as if the hidden tables and fields had never existed.
 */
describe('red team: schema probing for hidden tables and fields', () => {
  const rt: RedTeam = useRedTeam();
  const views: Array<{ agent: string; purpose: string }> = [];

  beforeAll(() => {
    for (const [id, agent] of rt.kh.broker.config.registry.agents) for (const purpose of agent.purposes) views.push({ agent: id, purpose });
  });

  /** What the catalog holds and this view does not show: whole tables, and columns of the tables it shows. */
  function hiddenOf(view: View) {
    const catalog = rt.kh.broker.config.catalog;
    const tables = [...catalog.tables.values()].filter((table) => !view.tables.has(table.name));
    const columns = [...view.tables.values()].flatMap((viewTable) =>
      [...viewTable.table.columns.keys()]
        .filter((column) => !viewTable.fields.has(column) && !viewTable.policy.encryptedAggregates.includes(column))
        .map((column) => ({ viewTable, column })),
    );
    return { tables, columns };
  }

  async function introspect(agent: string, purpose: string) {
    const reply = await rt.kh.graphql(await rt.token(agent, purpose), getIntrospectionQuery({ descriptions: true }));
    expect(reply.status).toBe(200);
    expect(await rt.audit(reply.requestId!)).toEqual([expect.objectContaining({ decision: 'allowed', actor_id: agent })]);
    return { text: JSON.stringify(reply.body.data), schema: buildClientSchema(reply.body.data as unknown as IntrospectionQuery) };
  }

  it('introspection of every view names no hidden table or field, in names or descriptions', async () => {
    let checked = 0;
    for (const { agent, purpose } of views) {
      const { text, schema } = await introspect(agent, purpose);
      const { tables, columns } = hiddenOf(rt.view(agent, purpose));
      const rootFields = Object.keys(schema.getQueryType()!.getFields());
      for (const table of tables) {
        const where = `${agent}/${purpose}: hidden table ${table.name}`;
        expect(
          typesOf(schema, table.graphqlType).map((type) => type.name),
          where,
        ).toEqual([]);
        expect(
          rootFields.filter((field) => field === table.name || field.startsWith(`${table.name}_`)),
          where,
        ).toEqual([]);
        expect(text, where).not.toMatch(new RegExp(`\\b${table.name}\\.\\w`));
        checked += 1;
      }
      for (const { viewTable, column } of columns) {
        const where = `${agent}/${purpose}: hidden ${viewTable.table.name}.${column}`;
        expect(namesIn(typesOf(schema, viewTable.table.graphqlType)), where).not.toContain(column);
        expect(text, where).not.toContain(`${viewTable.table.name}.${column}`);
        checked += 1;
      }
    }
    // Every view hides something: a test that checked nothing would pass too.
    expect(checked).toBeGreaterThan(views.length * 3);
  });

  it('answers __type for a hidden type exactly as for a type that never existed', async () => {
    for (const { agent, purpose } of views) {
      const token = await rt.token(agent, purpose);
      const lookup = (name: string) => rt.kh.graphql(token, `{ a: __type(name: "${name}") { name fields { name } } b: __type(name: "${name}Where") { name } }`);
      const never = await lookup('ZzNeverExisted');
      for (const table of hiddenOf(rt.view(agent, purpose)).tables) {
        const reply = await lookup(table.graphqlType);
        expect(reply.body, `${agent}/${purpose}: __type(${table.graphqlType})`).toEqual(never.body);
        expect(reply.body.data).toEqual({ a: null, b: null });
      }
    }
  });

  /** Sends the probe for `name` and for NEVER, and checks the hidden name is answered exactly like the unknown one. */
  async function expectProbeBlind(agent: string, purpose: string, visible: Set<string>, probe: Probe, name: string, control: Map<string, GraphQLReply>) {
    const token = await rt.token(agent, purpose);
    const send = (n: string) => rt.kh.graphql(token, probe.query(n), probe.variables?.(n));
    const key = `${agent}/${purpose}/${probe.what}`;
    if (!control.has(key)) control.set(key, await send(NEVER));
    const unknown = control.get(key)!;
    const code = unknown.body.errors?.[0]?.extensions?.code;
    expect(unknown.status, `${key}: ${JSON.stringify(unknown.body)}`).toBe(400);
    const bystander: Bystander = agent === 'fraud-bot' ? 'support-bot' : 'fraud-bot';
    const [reply] = await rt.contained(() => send(name), { status: 400, code: code! }, { bystander });
    const where = `${key}: ${name}`;
    const messages = (r: GraphQLReply, n: string) => r.body.errors!.map((error) => error.message.replaceAll(n, '<name>'));
    expect(messages(reply!, name), where).toEqual(messages(unknown, NEVER));
    const sent = `${probe.query(name)} ${JSON.stringify(probe.variables?.(name) ?? {})}`;
    for (const error of reply!.body.errors!) {
      expect(error.message, where).not.toMatch(/Did you mean|Suggestion hidden/);
      expect(Object.keys(error.extensions ?? {}), where).toEqual(['code']);
      for (const [, quoted] of error.message.matchAll(/"([^"]*)"/g)) {
        expect(sent.includes(quoted!) || visible.has(quoted!), `${where}: the error names "${quoted}"`).toBe(true);
      }
    }
  }

  it('refuses every probe of a hidden field or table in the words it uses for a name that never existed', async () => {
    const control = new Map<string, GraphQLReply>();
    let probes = 0;
    for (const { agent, purpose } of views) {
      const { schema } = await introspect(agent, purpose);
      const visible = visibleNames(schema);
      const view = rt.view(agent, purpose);
      const { tables, columns } = hiddenOf(view);
      for (const { viewTable, column } of columns) {
        const t = viewTable.table;
        const probesOf: Probe[] =
          viewTable.policy.access === 'rows'
            ? [
                { what: `${t.name} field`, query: (n) => `{ ${t.name}(limit: 1) { ${n} } }` },
                { what: `${t.name} filter`, query: (n) => `{ ${t.name}(where: { ${n}: { eq: "x" } }) { ${t.primaryKey} } }` },
                { what: `${t.name} sort`, query: (n) => `{ ${t.name}(orderBy: [{ field: ${n} }]) { ${t.primaryKey} } }` },
                {
                  what: `${t.name} filter in a variable`,
                  query: () => `query($w: ${t.graphqlType}Where) { ${t.name}(where: $w) { ${t.primaryKey} } }`,
                  variables: (n) => ({ w: { [n]: { eq: 'x' } } }),
                },
              ]
            : viewTable.policy.access === 'aggregates'
              ? [
                  { what: `${t.name} groupBy`, query: (n) => `{ ${t.name}_aggregate(epsilon: 0.1, groupBy: [${n}]) { groups { count { value } } } }` },
                  {
                    what: `${t.name} aggregate filter`,
                    query: (n) => `{ ${t.name}_aggregate(epsilon: 0.1, where: { ${n}: { eq: "x" } }) { groups { count { value } } } }`,
                  },
                ]
              : [
                  {
                    what: `${t.name} encrypted column`,
                    query: (n) => `{ ${t.name}_encrypted(key: "k", aggregate: { op: SUM, column: ${n} }) { rowCount } }`,
                  },
                ];
        for (const probe of probesOf) {
          await expectProbeBlind(agent, purpose, visible, probe, column, control);
          probes += 1;
        }
      }
      for (const table of tables) {
        for (const probe of [
          { what: 'root rows', query: (n: string) => `{ ${n}(limit: 1) { id } }` },
          { what: 'root aggregate', query: (n: string) => `{ ${n}_aggregate(epsilon: 0.1) { groups { count { value } } } }` },
          { what: 'fragment on a type', query: (n: string) => `{ viewer { agent } ... on ${n} { id } }` },
        ]) {
          await expectProbeBlind(agent, purpose, visible, probe, probe.what === 'fragment on a type' ? table.graphqlType : table.name, control);
          probes += 1;
        }
      }
    }
    expect(probes).toBeGreaterThan(50);
  });

  it("refuses an agent's look at the officers' schema", async () => {
    const token = await rt.token('support-bot');
    const officerIntrospection = async (): Promise<GraphQLReply> => {
      const response = await rt.kh.broker.fetch(
        new Request('http://keyhole.test/officer/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ __schema { queryType { fields { name } } } }' }),
        }),
      );
      return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: (await response.json()) as GraphQLReply['body'] };
    };
    await rt.contained(officerIntrospection, { status: 403, code: 'NOT_AN_OFFICER' });
  });
});
