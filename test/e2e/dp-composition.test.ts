import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import { clearPublicMaterialCache, encryptColumn, generateKeys, writeKeyDirectory } from '../../src/he/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';
import { projectWith, withBudget } from '../support/project.ts';
import { useTwoBrokers, useWorld } from '../support/world.ts';

// Sequential composition within one request (issue 21): every release a request makes is charged, the request is
// admitted only when their sum fits, and its one audit record lists each release and the total. Before the fix,
// each field locked the budget inside the request's own transaction and wrote its own stale snapshot plus its
// cost, so three fields at ε 2 left ε 2 in the ledger and in the record.

const COUNT = '{ groups { count { value } } cost { epsilon } replayed }';

async function spent(t: TestDatabase, scope: string) {
  const { rows } = await t.db.query<{ pure_epsilon: string; queries: number }>('SELECT pure_epsilon::text, queries FROM dp_budget WHERE scope = $1', [scope]);
  return { epsilon: rows[0] ? Number(rows[0].pure_epsilon) : 0, queries: rows[0]?.queries ?? 0 };
}

async function lastRecord(t: TestDatabase) {
  const { rows } = await t.db.query<{ decision: string; code: string | null; reason: string | null; privacy_cost: any; details: any }>(
    'SELECT decision, code, reason, privacy_cost, details FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  return rows[0]!;
}

const releasesOf = (record: { privacy_cost: any }) =>
  (record.privacy_cost.releases as any[]).map((r) => [r.field, r.table, r.epsilon, r.replayed]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));

describe.each(ENGINES)('privacy releases composed within one request on $engine', ({ create }) => {
  const world = useWorld(create, () => projectWith(withBudget({ epsilon: 10, maxEpsilonPerQuery: 2 })));
  const agentScope = 'agent:analytics-bot';
  let analytics: string;
  beforeAll(async () => {
    analytics = await world.kh.token('analytics-bot');
  });

  it('charges three tables asked at ε 2 each as ε 6, in one ledger update and in the one audit record', async () => {
    const before = await spent(world.t, agentScope);
    const reply = await world.kh.graphql(
      analytics,
      `{ transactions_aggregate(epsilon: 2) ${COUNT} accounts_aggregate(epsilon: 2) ${COUNT} customers_aggregate(epsilon: 2) ${COUNT} }`,
    );
    expect(reply.status).toBe(200);
    const after = await spent(world.t, agentScope);
    expect(after.epsilon - before.epsilon).toBe(6);
    expect(after.queries - before.queries).toBe(1);
    expect(after.epsilon).toBe(Number((await spent(world.t, 'dataset:demo-bank')).epsilon));
    const record = await lastRecord(world.t);
    expect(record.decision).toBe('allowed');
    expect(record.privacy_cost.epsilon).toBe(6);
    expect(releasesOf(record)).toEqual([
      ['accounts_aggregate', 'accounts', 2, false],
      ['customers_aggregate', 'customers', 2, false],
      ['transactions_aggregate', 'transactions', 2, false],
    ]);
  });

  it('charges aliases of one table each, and an alias repeating another once', async () => {
    const before = await spent(world.t, agentScope);
    const retail = 'customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" } })';
    const reply = await world.kh.graphql(
      analytics,
      `{ a: ${retail} ${COUNT} b: customers_aggregate(epsilon: 1, where: { segment: { ne: "retail" } }) ${COUNT} c: ${retail} ${COUNT} }`,
    );
    expect(reply.status).toBe(200);
    const { a, b, c } = reply.body.data!;
    expect([a.replayed, b.replayed, c.replayed]).toEqual([false, false, true]);
    // The repeated alias is the same release, not a second draw of noise.
    expect(c.groups).toEqual(a.groups);
    expect((await spent(world.t, agentScope)).epsilon - before.epsilon).toBe(2);
    const record = await lastRecord(world.t);
    expect(record.privacy_cost.epsilon).toBe(2);
    expect(releasesOf(record)).toEqual([
      ['a', 'customers', 1, false],
      ['b', 'customers', 1, false],
      ['c', 'customers', 0, true],
    ]);
  });

  it('releases nothing and charges nothing when the request total exceeds what remains, naming the total', async () => {
    const before = await spent(world.t, agentScope);
    expect(before.epsilon).toBe(8);
    const first = 'customers_aggregate(epsilon: 1.5, where: { segment: { eq: "business" } })';
    const reply = await world.kh.graphql(analytics, `{ a: ${first} ${COUNT} b: transactions_aggregate(epsilon: 1.5) ${COUNT} }`);
    expect(reply.status).toBe(403);
    expect(reply.body.data ?? null).toBeNull();
    expect(reply.body.errors).toHaveLength(1);
    expect(reply.body.errors![0]!.extensions!.code).toBe('BUDGET_EXHAUSTED');
    expect(reply.body.errors![0]!.message).toContain('ε=3 in all');
    expect(reply.body.errors![0]!.message).toContain('spent 8 of 10); a request asking ε ≤ 2 in all (with δ = 0) still fits');
    expect(await spent(world.t, agentScope)).toEqual(before);
    const record = await lastRecord(world.t);
    expect([record.decision, record.code]).toEqual(['denied', 'BUDGET_EXHAUSTED']);
    // Nothing was kept for replay: asked alone (it fits), the first field is a fresh release.
    const alone = await world.kh.graphql(analytics, `{ ${first} ${COUNT} }`);
    expect(alone.status).toBe(200);
    expect(alone.body.data!.customers_aggregate.replayed).toBe(false);
    expect((await spent(world.t, agentScope)).epsilon).toBe(9.5);
  });

  it('refuses ε below the policy minimum per query before any work, with PRIVACY_LIMIT_EXCEEDED', async () => {
    for (const epsilon of ['1e-300', '1e-30', '0.0009']) {
      const reply = await world.kh.graphql(analytics, `{ customers_aggregate(epsilon: ${epsilon}) ${COUNT} }`);
      expect([reply.status, reply.body.errors![0]!.extensions!.code]).toEqual([400, 'PRIVACY_LIMIT_EXCEEDED']);
    }
  });
});

describe('an agent with aggregate views but no declared budget', () => {
  const world = useWorld(ENGINES[0].create, () => projectWith({ 'schema/policies.yaml': (text) => text.replace(/\n\s+analytics-bot: \{[^}]+\}/, '') }));

  it('is refused with BUDGET_NOT_DECLARED (a steward has to declare one), not told its budget is spent', async () => {
    const reply = await world.kh.graphql(await world.kh.token('analytics-bot'), `{ customers_aggregate(epsilon: 1) ${COUNT} }`);
    expect([reply.status, reply.body.errors![0]!.extensions!.code]).toEqual([403, 'BUDGET_NOT_DECLARED']);
    expect(await spent(world.t, 'agent:analytics-bot')).toEqual({ epsilon: 0, queries: 0 });
  });
});

describe('encrypted-noise and DP releases composed in one request', () => {
  let keyDir: string;
  const fraudScope = 'agent:fraud-bot';
  // fraud-bot's payroll view with a DP aggregate table too, so one request can mix both kinds of release.
  const world = useWorld(ENGINES[0].create, () =>
    projectWith({
      'schema/policies.yaml': (text) =>
        text.replace(
          /(purposes: \[payroll_analytics\]\n\s+tables:\n)/,
          '$1      customers:\n        access: aggregates\n        fields: [residency, segment]\n        maxRowsPerSubject: 1\n',
        ),
    }),
  );
  let fraud: string;
  beforeAll(async () => {
    keyDir = join(await mkdtemp(join(tmpdir(), 'keyhole-composition-')), 'keys');
    await writeKeyDirectory(keyDir, await generateKeys('bfv'));
    await registerKeyDirectory(world.t.db, keyDir, 'payroll');
    await encryptColumn({ db: world.t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'payroll', bounds: [0, 1_000_000] });
    fraud = await world.kh.token('fraud-bot', 'payroll_analytics');
  });
  afterAll(async () => {
    clearPublicMaterialCache();
    await rm(join(keyDir, '..'), { recursive: true, force: true });
  });

  const noisySum = (alias: string, department: string) =>
    `${alias}: employees_encrypted(key: "payroll", aggregate: { op: SUM, column: salary }, where: { department: { eq: "${department}" } }, noise: { epsilon: 1 }) { rowCount epsilonSpent }`;

  it('charges two noisy encrypted sums and a DP count as ε 3; a request asking more than remains gets nothing', async () => {
    const reply = await world.kh.graphql(fraud, `{ ${noisySum('a', 'risk')} ${noisySum('b', 'technology')} customers_aggregate(epsilon: 1) ${COUNT} }`);
    expect(reply.status).toBe(200);
    expect(await spent(world.t, fraudScope)).toEqual({ epsilon: 3, queries: 1 });
    const record = await lastRecord(world.t);
    expect(record.privacy_cost.epsilon).toBe(3);
    expect(releasesOf(record)).toEqual([
      ['a', 'employees', 1, false],
      ['b', 'employees', 1, false],
      ['customers_aggregate', 'customers', 1, false],
    ]);
    // The record says what each encrypted sum was over, not only the last one.
    expect(record.details.encryptedAggregates.map(({ field, filter }: { field: string; filter: unknown }) => [field, filter])).toEqual([
      ['a', { department: { eq: 'risk' } }],
      ['b', { department: { eq: 'technology' } }],
    ]);
    // fraud-bot's budget is ε 5: three more releases of ε 1 do not fit.
    const over = await world.kh.graphql(
      fraud,
      `{ ${noisySum('a', 'operations')} ${noisySum('b', 'risk')} c: customers_aggregate(epsilon: 1, where: { segment: { eq: "retail" } }) ${COUNT} }`,
    );
    expect(over.status).toBe(403);
    expect(over.body.data ?? null).toBeNull();
    expect(over.body.errors![0]!.extensions!.code).toBe('BUDGET_EXHAUSTED');
    expect(await spent(world.t, fraudScope)).toEqual({ epsilon: 3, queries: 1 });
  });
});

describe('several brokers, many multi-release requests: the ledger equals the sum of the audit records', () => {
  const world = useTwoBrokers(() => projectWith(withBudget({ epsilon: 10, maxEpsilonPerQuery: 2 })));

  it('never spends more than the budget, and charges exactly what the allowed records list', async () => {
    const tokens = await Promise.all(world.brokers.map((kh) => kh.token('analytics-bot')));
    const requests = Array.from({ length: 30 }, (_, i) => {
      const fields = Array.from(
        { length: 1 + (i % 3) },
        (_, j) => `f${j}: customers_aggregate(epsilon: ${j === 0 ? 0.5 : 1}, where: { segment: { ne: "r${i}-${j}" } }) ${COUNT}`,
      );
      return world.brokers[i % 2]!.graphql(tokens[i % 2]!, `{ ${fields.join(' ')} }`);
    });
    const replies = await Promise.all(requests);
    const answered = replies.filter((r) => r.status === 200);
    expect(replies.every((r) => r.status === 200 || r.body.errors![0]!.extensions!.code === 'BUDGET_EXHAUSTED')).toBe(true);
    expect(answered.length).toBeGreaterThan(0);
    const released = answered.flatMap((r) => Object.values(r.body.data!)).reduce((sum: number, field: any) => sum + field.cost.epsilon, 0);

    const ledger = await spent(world.t, 'agent:analytics-bot');
    const { rows } = await world.t.db.query<{ decision: string; epsilon: string | null; n: number }>(
      "SELECT decision, sum((privacy_cost->>'epsilon')::numeric)::text AS epsilon, count(*)::int AS n FROM audit_log WHERE operation_kind = 'dp_aggregate' GROUP BY decision ORDER BY decision",
    );
    const allowed = rows.find((r) => r.decision === 'allowed')!;
    expect(allowed.n).toBe(answered.length);
    expect(Number(allowed.epsilon)).toBe(ledger.epsilon);
    expect(released).toBe(ledger.epsilon);
    expect(ledger.epsilon).toBeLessThanOrEqual(10);
    expect(ledger.queries).toBe(answered.length);
  });
});
