import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type IntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLReply } from '../support/broker.ts';
import { projectWith, withBudget } from '../support/project.ts';
import { type Bystander, useRedTeam } from './support.ts';

/** Marks every payload, so that a statement's text holding it is input that reached SQL as text. */
const MARK = 'khsqli';
const PAYLOADS = [
  `' OR '${MARK}'='${MARK}`,
  `${MARK}'; DROP TABLE customers; --`,
  `${MARK}' UNION SELECT national_id FROM customers --`,
  `${MARK}\\'; SELECT pg_sleep(5); --`,
  `${MARK}" OR 1=1 --`,
  `${MARK}%' OR '%'='`,
  `$1 ${MARK} $$; SELECT 1; $$`,
  `${MARK}') ) OR (('1'='1`,
  `${MARK}/**/OR/**/1=1`,
  `E'\\x27${MARK}`,
] as const;
const PARALLEL = 6;
/** What a payload is compared with: a value of the same kind that matches nothing. */
const BENIGN = 'zz-nobody';

type Path = Array<string | number>;

/** One place an agent can put a string: an argument, or an input field at some depth of one, of one root field. */
interface Slot {
  field: GraphQLField<unknown, unknown>;
  arg: GraphQLArgument;
  path: Path;
  /** The operator the value is compared by, when it sits in a filter (eq, in, lt, …). */
  operator: string | undefined;
}

/** A value graphql will accept where `type` is required (and nothing where it is not). */
function baseValue(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return baseValue(type.ofType, name);
  if (isListType(type)) return [baseValue(type.ofType, name)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => isNonNullType(field.type))
        .map((field) => [field.name, baseValue(field.type, field.name)]),
    );
  }
  const byScalar: Record<string, unknown> = { Float: name === 'epsilon' ? 0.1 : 1, Int: 1, Boolean: true, BigInt: 1, Decimal: '1', Date: '2025-01-01' };
  return byScalar[type.name] ?? (type.name === 'DateTime' ? '2025-01-01T00:00:00Z' : 'k');
}

/**
 * Every leaf under an argument's type, lists entered once. `and`, `or` and `not` lead to the same leaves again, so
 * they are left out: the same values reach the same SQL builder through them.
 */
function leaves(type: GraphQLInputType, path: Path, depth: number, operator?: string): Array<{ path: Path; operator: string | undefined }> {
  if (isNonNullType(type)) return leaves(type.ofType, path, depth, operator);
  if (isListType(type)) return leaves(type.ofType, [...path, 0], depth, operator);
  if (isScalarType(type) || isEnumType(type)) return [{ path, operator }];
  if (!isInputObjectType(type) || depth > 2) return [];
  return Object.values(type.getFields()).flatMap((field) => {
    if (['and', 'or', 'not'].includes(field.name)) return [];
    return leaves(field.type, [...path, field.name], depth + 1, field.name);
  });
}

/** `base` with `value` set at `path`, input objects on the way given their required fields. */
function withValueAt(base: unknown, type: GraphQLInputType, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const named = isNonNullType(type) ? type.ofType : type;
  const [step, ...rest] = path;
  if (isListType(named)) return [withValueAt(undefined, named.ofType, rest, value)];
  if (!isInputObjectType(named)) throw new Error(`no input field ${String(step)} under ${String(named)}`);
  const object = { ...((base as Record<string, unknown> | undefined) ?? (baseValue(named, '') as Record<string, unknown>)) };
  const field = named.getFields()[step as string]!;
  object[step as string] = withValueAt(object[step as string], field.type, rest, value);
  return object;
}

/** A selection of every leaf of an output type two levels deep, skipping fields that need arguments. */
function selectionOf(type: GraphQLOutputType, depth = 0): string {
  const named = getNamedType(type);
  if (!isObjectType(named)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(named.getFields())) {
    if (field.args.some((arg) => isNonNullType(arg.type))) continue;
    const inner = getNamedType(field.type);
    if (!isObjectType(inner)) parts.push(field.name);
    else if (depth < 2) parts.push(`${field.name} ${selectionOf(field.type, depth + 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** The request for `slot` with `value` in it, every argument as a variable. */
function requestFor(slot: Slot, value: unknown): { query: string; variables: Record<string, unknown> } {
  const args = slot.field.args.filter((arg) => arg === slot.arg || isNonNullType(arg.type));
  const variables = Object.fromEntries(
    args.map((arg) => [arg.name, arg === slot.arg ? withValueAt(undefined, arg.type, slot.path, value) : baseValue(arg.type, arg.name)]),
  );
  const declared = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const passed = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return { query: `query(${declared}) { ${slot.field.name}(${passed}) ${selectionOf(slot.field.type)} }`, variables };
}

/** Where `a` and `b` differ in shape (keys, kinds of values; an empty list fits any list), or null. */
function shapeDifference(a: unknown, b: unknown, path = 'data'): string | null {
  if (Array.isArray(a) && Array.isArray(b)) {
    const items = [...a, ...b];
    return items.length === 0 ? null : (items.map((item) => shapeDifference(items[0], item, `${path}[]`)).find((d) => d !== null) ?? null);
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) {
      if (!(key in a) || !(key in b)) return `${path}.${key} is in one answer only`;
      const difference = shapeDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      if (difference) return difference;
    }
    return null;
  }
  // A value may be null in one answer (a nullable field) and not in the other.
  if (a === null || b === null) return null;
  return typeof a === typeof b ? null : `${path} is ${typeof a} in one answer, ${typeof b} in the other`;
}

/** A row read (a list of rows) rather than a DP or HE aggregate (one object, noisy or encrypted). */
const returnsRows = (field: GraphQLField<unknown, unknown>) => isListType(isNonNullType(field.type) ? field.type.ofType : field.type);

/**
 * The slots of a schema's root fields. Row reads get every operator of every filter field; DP and HE aggregates run
 * their filters through the same where-walker, so each of their filter fields gets one operator (a different one in
 * turn) and its arguments of their own (ε, δ, groupBy, key, …) all of theirs.
 */
function slotsOf(schema: GraphQLSchema): Slot[] {
  let turn = 0;
  return Object.values(schema.getQueryType()!.getFields()).flatMap((field) =>
    field.args.flatMap((arg) => {
      const slots = leaves(arg.type, [], 0).map(({ path, operator }) => ({ field, arg, path, operator }));
      if (returnsRows(field)) return slots;
      const byInput = Map.groupBy(slots, (slot) =>
        slot.path
          .filter((step) => typeof step === 'string')
          .slice(0, -1)
          .join('.'),
      );
      return [...byInput.values()].map((operators) => operators[turn++ % operators.length]!);
    }),
  );
}

/** Operators whose answer for a payload that matches nothing equals the answer for any other value matching nothing. */
const EXACT_OPERATORS = new Set(['eq', 'in', 'ne', 'notIn']);

/**
 * SQL injection in every argument of every root field of every view, found by introspection: no payload may reach
 * a statement's text, change an answer's shape or rows, or fail as INTERNAL; and every request is recorded.
 */
describe('red team: SQL injection strings in every argument', () => {
  // A budget large enough that every DP question is answered (and its where clause run), not refused for its cost.
  const rt = useRedTeam({ root: () => projectWith(withBudget({ epsilon: 10_000, maxEpsilonPerQuery: 10 }, { epsilon: 1e6, delta: 1e-3 })) });

  async function schemaOf(token: string): Promise<GraphQLSchema> {
    const reply = await rt.kh.graphql(token, getIntrospectionQuery());
    return buildClientSchema(reply.body.data as unknown as IntrospectionQuery);
  }

  it('never lets a payload reach SQL as text, change an answer, or fail as INTERNAL', { timeout: 120_000 }, async () => {
    rt.sql.clear();
    const requestIds: string[] = [];
    const outcomes = new Map<string, number>();
    let exactComparisons = 0;
    for (const [agent, definition] of rt.kh.broker.config.registry.agents) {
      for (const purpose of definition.purposes) {
        const token = await rt.token(agent, purpose);
        const schema = await schemaOf(token);
        const slots = slotsOf(schema);
        expect(slots.length, `${agent}/${purpose}: slots`).toBeGreaterThan(0);
        const bystander: Bystander = agent === 'fraud-bot' ? 'support-bot' : 'fraud-bot';
        const send = async (slot: Slot, value: unknown): Promise<GraphQLReply> => {
          const { query, variables } = requestFor(slot, value);
          const reply = await rt.kh.graphql(token, query, variables);
          requestIds.push(reply.requestId!);
          return reply;
        };
        // Each slot gets one payload (all ten in turn), and every fifth slot a bystander's request alongside. The
        // benign control is asked only where the payload was answered, to compare the two answers.
        const attack = async (slot: Slot, i: number) => {
          const payload = PAYLOADS[i % PAYLOADS.length]!;
          const [reply] = await Promise.all([send(slot, payload), i % 5 === 0 ? rt.bystanderServed(bystander) : undefined]);
          const what = `${agent}/${purpose} ${slot.field.name}(${slot.arg.name}: ${slot.path.join('.')}) = ${payload}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`;
          const code = reply.body.errors?.[0]?.extensions?.code;
          outcomes.set(String(code ?? reply.status), (outcomes.get(String(code ?? reply.status)) ?? 0) + 1);
          expect([200, 400, 403], what).toContain(reply.status);
          expect(code, what).not.toBe('INTERNAL');
          if (reply.status !== 200) return;
          const control = await send(slot, BENIGN);
          expect(control.status, what).toBe(200);
          expect(shapeDifference(reply.body.data, control.body.data), what).toBeNull();
          // Rows are exact, DP and HE answers noisy: a row read's whole answer must be the benign value's.
          if (EXACT_OPERATORS.has(slot.operator ?? '') && returnsRows(slot.field)) {
            expect(reply.body, what).toEqual(control.body);
            exactComparisons += 1;
          }
        };
        // A few at a time, as several agents' tools would send them.
        for (let start = 0; start < slots.length; start += PARALLEL) {
          await Promise.all(slots.slice(start, start + PARALLEL).map((slot, j) => attack(slot, start + j)));
        }
      }
    }
    const leaked = rt.sql.statements.filter((text) => text.includes(MARK));
    expect(leaked, 'statements holding a payload in their text').toEqual([]);
    // Payloads in string slots were run as parameters and answered; in slots of other types they were refused as
    // values of the wrong type (INVALID_ARGUMENT), never as a failure.
    expect(outcomes.get('200') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(50);
    expect(exactComparisons).toBeGreaterThan(30);
    const { rows } = await rt.t.db.query<{ request_id: string; n: number }>(
      'SELECT request_id, count(*)::int AS n FROM audit_log WHERE request_id = ANY($1) GROUP BY request_id',
      [requestIds],
    );
    expect(rows.length).toBe(requestIds.length);
    expect(rows.every((row) => row.n === 1)).toBe(true);
  });

  it('stores a payload sent as an operation name or a claimed agent verbatim, as a parameter', async () => {
    rt.sql.clear();
    const payload = PAYLOADS[1];
    const named = await rt.post(await rt.token('support-bot'), JSON.stringify({ query: '{ viewer { agent } }', operationName: payload }));
    expect(named.body.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect((await rt.audit(named.requestId!))[0]!.operation_name).toBe(payload);
    const forged = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: payload })).toString('base64url')}.AAAA`;
    const claimed = await rt.kh.graphql(forged, '{ viewer { agent } }');
    expect(claimed.status).toBe(401);
    expect((await rt.audit(claimed.requestId!))[0]!.details).toEqual({ claimedAgent: payload, rulesVersion: expect.any(Number) });
    expect(rt.sql.statements.filter((text) => text.includes(MARK))).toEqual([]);
  });
});
