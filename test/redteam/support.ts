import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect } from 'vitest';
import type { AgentPrincipal } from '../../src/identity/index.ts';
import type { View } from '../../src/policy/index.ts';
import type { Db, Queryable } from '../../src/sql/index.ts';
import { type GraphQLReply, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';

/**
 * The red-team suite's one shape: an attack is refused with its stable code and HTTP status, leaves exactly one
 * audit record saying so, and another agent asking at the same moment is served exactly as when nobody attacks.
 */

/** Benign requests of other agents, each answered the same on every call (fixed order, fixed page). */
export const BYSTANDERS = {
  'support-bot': '{ customers(limit: 3, orderBy: [{ field: id }]) { id full_name city } }',
  'fraud-bot': '{ transactions(limit: 3, orderBy: [{ field: id }]) { id amount merchant_category } }',
} as const;
export type Bystander = keyof typeof BYSTANDERS;

export interface Refused {
  status: number;
  code: string;
  /** The record's decision: `denied` unless said otherwise (an approval asked for is `pending_approval`). */
  decision?: 'denied' | 'pending_approval' | 'error';
}

export interface AuditEntry {
  decision: string;
  code: string | null;
  actor_id: string | null;
  operation_name: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

/** Every SQL text the broker sent to its database, in order: what the agent's input may never appear in. */
export interface SqlLog {
  readonly statements: string[];
  clear(): void;
}

/** `db` with every statement's text written to `log` (parameters are not: they are where input belongs). */
export function recordingDb(db: Db, log: string[]): Db {
  const recording = (q: Queryable): Queryable => ({
    query: (text, params) => {
      log.push(text);
      return q.query(text, params);
    },
  });
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'query') return recording(target).query;
      if (property === 'exec') {
        return (sql: string) => {
          log.push(sql);
          return target.exec(sql);
        };
      }
      if (property === 'transaction') return <T>(fn: (tx: Queryable) => Promise<T>) => target.transaction((tx) => fn(recording(tx)));
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface RedTeam {
  readonly t: TestDatabase;
  readonly kh: TestBroker;
  readonly sql: SqlLog;
  /** The project copy the broker runs under, when the suite gave one. */
  readonly root: string | undefined;
  /** A token of `agent` (for `purpose`, else its first), minted once per suite. */
  token(agent: string, purpose?: string): Promise<string>;
  /** The view the broker serves `agent` acting for `purpose` (its first by default): what is hidden is what it lacks. */
  view(agent: string, purpose?: string): View;
  /** POSTs `body` as it is (not necessarily JSON) to /graphql with `token`. */
  post(token: string | null, body: string, headers?: Record<string, string>): Promise<GraphQLReply>;
  /** The audit records of one request id (exactly one, for every request). */
  audit(requestId: string): Promise<AuditEntry[]>;
  /**
   * Runs `attack` (`copies` times at once) alongside the bystander's benign request, and checks the attack → code →
   * audited → others-served shape. Returns the attack's replies for checks of its own.
   */
  contained(attack: () => Promise<GraphQLReply>, refused: Refused, options?: { bystander?: Bystander; copies?: number }): Promise<GraphQLReply[]>;
  /** Checks that a bystander request, made now, is served exactly as before any attack. */
  bystanderServed(bystander?: Bystander): Promise<void>;
}

/**
 * For one suite: an in-memory database (or `create`'s) holding the test world and what `seed` adds, one broker over
 * it (under `root` when given) whose SQL is logged, and the bystanders' answers when nobody attacks.
 */
export function useRedTeam(options: { create?: () => Promise<TestDatabase>; root?: () => Promise<string>; seed?: (db: Db) => Promise<void> } = {}): RedTeam {
  const state = {} as { t: TestDatabase; kh: TestBroker; root?: string };
  const statements: string[] = [];
  const tokens = new Map<string, Promise<string>>();
  const baselines = new Map<Bystander, GraphQLReply['body']>();

  beforeAll(async () => {
    state.t = await (options.create ?? createPgliteTestDatabase)();
    await loadWorld(state.t.db);
    await options.seed?.(state.t.db);
    if (options.root) state.root = await options.root();
    state.kh = await startTestBroker(recordingDb(state.t.db, statements), state.root ? { root: state.root } : {});
    for (const bystander of Object.keys(BYSTANDERS) as Bystander[]) {
      const reply = await ask(bystander);
      if (reply.status !== 200 || reply.body.errors) throw new Error(`bystander ${bystander} is not served: ${JSON.stringify(reply.body)}`);
      baselines.set(bystander, reply.body);
    }
  });
  afterAll(async () => {
    await state.kh?.close();
    await state.t?.drop();
    if (state.root) await rm(state.root, { recursive: true, force: true });
  });

  const token = (agent: string, purpose?: string) => {
    const key = `${agent}/${purpose ?? ''}`;
    if (!tokens.has(key)) tokens.set(key, state.kh.token(agent, purpose));
    return tokens.get(key)!;
  };
  const ask = async (bystander: Bystander) => state.kh.graphql(await token(bystander), BYSTANDERS[bystander]);

  const audit = async (requestId: string) =>
    (await state.t.db.query<AuditEntry>('SELECT decision, code, actor_id, operation_name, reason, details FROM audit_log WHERE request_id = $1', [requestId]))
      .rows;

  const bystanderServed = async (bystander: Bystander = 'fraud-bot', reply?: GraphQLReply) => {
    const served = reply ?? (await ask(bystander));
    expect({ status: served.status, body: served.body }, `${bystander} while under attack`).toEqual({ status: 200, body: baselines.get(bystander) });
    expect(await audit(served.requestId!), `${bystander}'s record`).toEqual([expect.objectContaining({ decision: 'allowed', actor_id: bystander })]);
  };

  return {
    get t() {
      return state.t;
    },
    get kh() {
      return state.kh;
    },
    get root() {
      return state.root;
    },
    sql: {
      statements,
      clear: () => {
        statements.length = 0;
      },
    },
    token,
    view(agent, purpose) {
      const definition = state.kh.broker.config.registry.agents.get(agent)!;
      const principal: AgentPrincipal = {
        kind: 'agent',
        id: agent,
        agent: definition,
        purpose: purpose ?? definition.purposes[0]!,
        tokenId: 'red-team',
        expiresAt: new Date(Date.now() + 3_600_000),
      };
      return state.kh.broker.views.get(principal).view;
    },
    async post(bearer, body, headers = {}) {
      const response = await state.kh.broker.fetch(
        new Request('http://keyhole.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
          body,
        }),
      );
      return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: (await response.json()) as GraphQLReply['body'] };
    },
    audit,
    async contained(attack, refused, { bystander = 'fraud-bot', copies = 1 } = {}) {
      const [served, ...replies] = await Promise.all([ask(bystander), ...Array.from({ length: copies }, attack)]);
      for (const reply of replies) {
        const what = JSON.stringify(reply.body).slice(0, 400);
        expect(reply.status, what).toBe(refused.status);
        expect(reply.body.errors?.[0]?.extensions?.code, what).toBe(refused.code);
        expect(reply.body.data ?? null, what).toBeNull();
        expect(reply.requestId, 'x-request-id').toMatch(/^[0-9a-f-]{36}$/);
        expect(await audit(reply.requestId!), `the record of ${what}`).toEqual([
          expect.objectContaining({ decision: refused.decision ?? 'denied', code: refused.code }),
        ]);
      }
      await bystanderServed(bystander, served);
      return replies;
    },
    bystanderServed: (bystander) => bystanderServed(bystander),
  };
}
