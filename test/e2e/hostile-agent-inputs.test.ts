import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMITS } from '../../src/graphql/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

const AGENTS = ['support-bot', 'fraud-bot', 'analytics-bot', 'kyc-bot'] as const;

/** An argument value as the fuzzer builds it; numbers keep their text so 1e400 or 2^53+1 reach the server as written. */
type Value =
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'enum'; name: string }
  | { kind: 'list'; items: Value[] }
  | { kind: 'object'; fields: Array<[string, Value]> };

function asLiteral(v: Value): string {
  switch (v.kind) {
    case 'string':
      return JSON.stringify(v.value);
    case 'number':
      return v.text;
    case 'boolean':
      return String(v.value);
    case 'null':
      return 'null';
    case 'enum':
      return v.name;
    case 'list':
      return `[${v.items.map(asLiteral).join(', ')}]`;
    case 'object':
      return `{ ${v.fields.map(([k, f]) => `${k}: ${asLiteral(f)}`).join(', ')} }`;
  }
}

function asJson(v: Value): string {
  switch (v.kind) {
    case 'enum':
      return JSON.stringify(v.name);
    case 'list':
      return `[${v.items.map(asJson).join(',')}]`;
    case 'object':
      return `{${v.fields.map(([k, f]) => `${JSON.stringify(k)}:${asJson(f)}`).join(',')}}`;
    default:
      return asLiteral(v);
  }
}

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface InputField {
  name: string;
  type: TypeRef;
}
interface FullType {
  kind: string;
  name: string;
  fields: Array<{ name: string; args: InputField[]; type: TypeRef }> | null;
  inputFields: InputField[] | null;
  enumValues: Array<{ name: string }> | null;
}

const INTROSPECTION = `{ __schema { queryType { name } types { kind name enumValues { name } fields { name args { name type { ...T } } type { ...T } } inputFields { name type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`;

const hostileStrings = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('a\u0000b', '\ud800', 'x\udc00y', "'; DROP TABLE customers; --", '%_\\', 'Sun Jianguo', 'CN', 'cus_aaaaaaaaaaaaaaaa', ''),
  fc.constant('x'.repeat(INPUT_LIMITS.stringLength + 1)),
  fc.constantFrom('2025-06-01', '2025-02-30', '0000-01-01', '99999-01-01', '2025-06-01T10:00:00Z', '2025-06-01T25:00:00Z', '1', 'NaN', 'Infinity'),
  fc.constantFrom('9223372036854775807', '9223372036854775808', '-9223372036854775809', '1e99999', '123.45', `0.${'1'.repeat(60)}`),
);
const hostileNumbers = fc.oneof(
  fc.integer().map(String),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((d) => (Number.isInteger(d) ? `${d}.5` : String(d)))
    .filter((t) => !t.includes('e') || /e[+-]?\d+$/.test(t)),
  fc.constantFrom('2147483648', '-2147483649', '9007199254740993', '99999999999999999999999', '1e400', '-1e400', '0', '-1', '100001', '1e-400'),
);

function valueFor(type: TypeRef, types: Map<string, FullType>, depth: number, required = false): fc.Arbitrary<Value> {
  if (type.kind === 'NON_NULL') return valueFor(type.ofType!, types, depth, true);
  const inner = ((): fc.Arbitrary<Value> => {
    if (type.kind === 'LIST') return fc.array(valueFor(type.ofType!, types, depth + 1), { maxLength: 3 }).map((items) => ({ kind: 'list', items }));
    const full = types.get(type.name!)!;
    if (full.kind === 'ENUM')
      return fc.oneof(fc.constantFrom(...full.enumValues!.map((e) => e.name)), fc.constant('NOT_A_VALUE')).map((name) => ({ kind: 'enum', name }));
    if (full.kind === 'INPUT_OBJECT') {
      const fields = full.inputFields!.filter((f) => depth < 3 || f.type.kind === 'NON_NULL');
      if (fields.length === 0) return fc.constant({ kind: 'object', fields: [] });
      return fc
        .subarray(fields, { minLength: 1, maxLength: Math.min(3, fields.length) })
        .chain((chosen) => fc.tuple(...chosen.map((f) => valueFor(f.type, types, depth + 1).map((v): [string, Value] => [f.name, v]))))
        .map((pairs) => ({ kind: 'object', fields: pairs }));
    }
    const strings = hostileStrings.map((value): Value => ({ kind: 'string', value }));
    const numbers = hostileNumbers.map((text): Value => ({ kind: 'number', text }));
    if (full.name === 'Boolean')
      return fc.oneof(
        fc.boolean().map((value): Value => ({ kind: 'boolean', value })),
        strings,
      );
    if (full.name === 'Int' || full.name === 'Float') return fc.oneof({ weight: 4, arbitrary: numbers }, { weight: 1, arbitrary: strings });
    return fc.oneof({ weight: 4, arbitrary: strings }, { weight: 1, arbitrary: numbers });
  })();
  return required ? inner : fc.oneof({ weight: 5, arbitrary: inner }, { weight: 1, arbitrary: fc.constant<Value>({ kind: 'null' }) });
}

/** A selection under a field's type: its leaf fields, and one level of object fields for aggregates. */
function selectionFor(type: TypeRef, types: Map<string, FullType>, depth = 0): string {
  let named = type;
  while (named.ofType) named = named.ofType;
  const full = types.get(named.name!)!;
  if (full.kind !== 'OBJECT') return '';
  const parts = ['__typename'];
  for (const field of full.fields!) {
    if (field.args.some((a) => a.type.kind === 'NON_NULL')) continue;
    const sub = depth < 2 ? selectionFor(field.type, types, depth + 1) : '';
    let leaf = field.type;
    while (leaf.ofType) leaf = leaf.ofType;
    const leafKind = types.get(leaf.name!)!.kind;
    if (leafKind === 'SCALAR' || leafKind === 'ENUM') parts.push(field.name);
    else if (sub) parts.push(`${field.name} ${sub}`);
  }
  return `{ ${parts.join(' ')} }`;
}

const printType = (t: TypeRef): string => (t.kind === 'NON_NULL' ? `${printType(t.ofType!)}!` : t.kind === 'LIST' ? `[${printType(t.ofType!)}]` : t.name!);

interface FuzzRequest {
  body: string;
  description: string;
}

/** Random calls of every root field of an agent's schema, arguments inline or as variables. */
function requestsFor(schema: { queryType: { name: string }; types: FullType[] }): fc.Arbitrary<FuzzRequest> {
  const types = new Map(schema.types.map((t) => [t.name, t]));
  const roots = types.get(schema.queryType.name)!.fields!.filter((f) => f.args.length > 0);
  return fc.constantFrom(...roots).chain((field) =>
    fc
      .tuple(
        fc.tuple(
          ...field.args.map((arg) =>
            fc.option(valueFor(arg.type, types, 0, arg.type.kind === 'NON_NULL'), { nil: undefined, freq: arg.type.kind === 'NON_NULL' ? 1000 : 3 }),
          ),
        ),
        fc.boolean(),
      )
      .map(([values, inline]) => {
        const given = field.args.map((arg, i) => ({ arg, value: values[i] })).filter((a): a is { arg: InputField; value: Value } => a.value !== undefined);
        const selection = selectionFor(field.type, types);
        if (inline) {
          const args = given.length > 0 ? `(${given.map(({ arg, value }) => `${arg.name}: ${asLiteral(value)}`).join(', ')})` : '';
          const query = `{ ${field.name}${args} ${selection} }`;
          return { body: JSON.stringify({ query }), description: query };
        }
        const declared = given.map(({ arg }, i) => `$v${i}: ${printType(arg.type)}`).join(', ');
        const args = given.length > 0 ? `(${given.map(({ arg }, i) => `${arg.name}: $v${i}`).join(', ')})` : '';
        const query = `query${declared ? `(${declared})` : ''} { ${field.name}${args} ${selection} }`;
        const variables = `{${given.map(({ value }, i) => `"v${i}":${asJson(value)}`).join(',')}}`;
        return { body: `{"query":${JSON.stringify(query)},"variables":${variables}}`, description: `${query} ${variables}` };
      }),
  );
}

describe.each(ENGINES)('hostile arguments on $engine', ({ create }) => {
  const world = useWorld(create);
  const tokens = new Map<string, string>();
  const auditRows = async () => Number((await world.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n);

  const post = async (agent: string, body: string) => {
    const response = await world.kh.broker.fetch(
      new Request('http://keyhole.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(agent)}` },
        body,
      }),
    );
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  };

  beforeAll(async () => {
    for (const agent of AGENTS) tokens.set(agent, await world.kh.token(agent));
  });

  it.each([
    ['a NUL byte inline', '{ customers(where: { full_name: { eq: "a\\u0000b" } }) { id } }', undefined],
    ['a NUL byte in a variable', 'query($n: String) { customers(where: { full_name: { eq: $n } }) { id } }', { n: 'a\u0000b' }],
    ['a lone surrogate in a variable', 'query($n: [String!]) { customers(where: { city: { in: $n } }) { id } }', { n: ['ok', '\ud800'] }],
    ['an over-long string', 'query($n: String) { customers(where: { full_name: { eq: $n } }) { id } }', { n: 'x'.repeat(INPUT_LIMITS.stringLength + 1) }],
    ['an Int beyond 32 bits inline', '{ customers(limit: 2147483648) { id } }', undefined],
    ['an Int beyond 32 bits in a variable', 'query($l: Int) { customers(limit: $l) { id } }', { l: 2 ** 31 }],
    ['a BigInt beyond 64 bits', '{ customers(where: { id: { eq: "9223372036854775808" } }) { id } }', undefined],
    ['a BigInt beyond 2^53 as a number', 'query($i: BigInt) { customers(where: { id: { eq: $i } }) { id } }', { i: 2 ** 60 }],
    ['an offset too large', '{ customers(offset: 100001) { id } }', undefined],
    ['a malformed DateTime', '{ customers(where: { created_at: { gt: "1" } }) { id } }', undefined],
    ['an impossible DateTime', 'query($t: DateTime) { customers(where: { created_at: { gt: $t } }) { id } }', { t: '2025-02-30T00:00:00Z' }],
    [
      'a nesting too deep',
      'query($w: CustomerWhere) { customers(where: $w) { id } }',
      { w: Array.from({ length: 40 }).reduce<object>((w) => ({ and: [w] }), {}) },
    ],
  ])('refuses %s with 400 INVALID_ARGUMENT', async (_, query, variables) => {
    const reply = await world.kh.graphql(tokens.get('support-bot')!, query, variables);
    expect(reply.status, JSON.stringify(reply.body)).toBe(400);
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a non-finite Float (1e400 in JSON) and a malformed Date to other stages too', async () => {
    const epsilon = await post(
      'analytics-bot',
      '{"query":"query($e: Float!) { customers_aggregate(epsilon: $e) { groups { count { value } } } }","variables":{"e":1e400}}',
    );
    expect(epsilon).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'INVALID_ARGUMENT' } }] } });
    const inline = await post('analytics-bot', JSON.stringify({ query: '{ customers_aggregate(epsilon: 1e400) { groups { count { value } } } }' }));
    expect(inline).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'INVALID_ARGUMENT' } }] } });
    const date = await post('support-bot', JSON.stringify({ query: '{ accounts(where: { opened_on: { eq: "2025-13-01" } }) { id } }' }));
    expect(date).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'INVALID_ARGUMENT' } }] } });
  });

  it('never answers 5xx to random arguments of any field of any agent, and records every answer', { timeout: 120_000 }, async () => {
    const sent = { n: 0 };
    const before = await auditRows();
    for (const agent of AGENTS) {
      const introspection = await world.kh.graphql(tokens.get(agent)!, INTROSPECTION);
      const schema = introspection.body.data!.__schema as { queryType: { name: string }; types: FullType[] };
      await fc.assert(
        fc.asyncProperty(requestsFor(schema), async (request) => {
          sent.n += 1;
          const reply = await post(agent, request.body);
          if (reply.status >= 500) throw new Error(`${agent}: ${reply.status} ${JSON.stringify(reply.body)} for ${request.description}`);
          return reply.status === 200 || reply.status === 400 || reply.status === 403;
        }),
        { numRuns: 200, seed: 18_4 },
      );
    }
    // Introspection answers are recorded too.
    expect(await auditRows()).toBe(before + sent.n + AGENTS.length);
  });
});
