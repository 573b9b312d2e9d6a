import { beforeAll, describe, expect, it } from 'vitest';
import { raiseAnomalies } from '../../src/agent-controls/baselines/anomalies.ts';
import { decideApproval, listApprovals } from '../../src/approvals/index.ts';
import type { TestBroker } from '../support/broker.ts';
import { ENGINES } from '../support/databases.ts';
import { projectWith } from '../support/project.ts';
import { useWorld } from '../support/world.ts';

const BY_CATEGORY = '{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.5) { groups { key { merchant_category } count { value } } } }';
const SUM = '{ transactions_aggregate(epsilon: 0.5) { groups { sum(field: amount) { value } } } }';

// Quarantine covers differentially private answers too: each field an aggregate releases needs an approval, and a
// refused aggregate spends nothing. Such a request runs in a transaction of its own, which the guard uses (PGlite
// serves one transaction at a time).
describe.each(ENGINES)('a quarantined agent asking for DP aggregates on $engine', ({ create }) => {
  const world = useWorld(create, () =>
    projectWith({
      'schema/policies.yaml': (text) => text.replace('    kyc: { quarantine: true }\n', '    kyc: { quarantine: true }\n    analytics: { quarantine: true }\n'),
    }),
  );
  let kh: TestBroker;
  let token: string;
  /** Answers charged to analytics-bot's budget so far. */
  const spent = async () =>
    (await world.t.db.query<{ n: number }>("SELECT coalesce(sum(queries), 0)::int AS n FROM dp_budget WHERE scope = 'agent:analytics-bot'")).rows[0]!.n;

  beforeAll(async () => {
    kh = world.kh;
    token = await kh.token('analytics-bot');
    await world.t.db.transaction((tx) =>
      raiseAnomalies(tx, kh.broker.secrets.auditKey, [
        {
          kind: 'window',
          statistic: 'epsilonPerWindow',
          value: 12,
          threshold: 2.4,
          score: 30,
          baseline: { median: 1, mad: 0.1, spread: 0.1, observations: 48, zThreshold: 8 },
          detail: null,
          agentId: 'analytics-bot',
          purpose: 'analytics',
          windowStart: new Date('2026-01-01T10:00:00Z'),
          windowEnd: new Date('2026-01-01T11:00:00Z'),
          requestId: null,
          auditSeq: null,
          quarantines: true,
        },
      ]),
    );
    await kh.broker.baselines.tick();
  });

  it('refuses the aggregate pending approval of its fields, and charges no budget', async () => {
    const before = await spent();
    const reply = await kh.graphql(token, BY_CATEGORY);
    expect(reply.status).toBe(403);
    expect(reply.body.errors![0]!.extensions).toMatchObject({ code: 'APPROVAL_REQUIRED', quarantined: true });
    expect(await spent()).toBe(before);
    const pending = await listApprovals(world.t.db, 'pending');
    // A count grouped by public keys returns no field: the table is what needs approving.
    expect(pending.map((a) => `${a.table}.${a.field}`)).toEqual(['transactions.*']);
    const { rows } = await world.t.db.query('SELECT decision, code, privacy_cost FROM audit_log WHERE request_id = $1', [reply.requestId]);
    expect(rows).toEqual([{ decision: 'pending_approval', code: 'APPROVAL_REQUIRED', privacy_cost: null }]);
    // A sum releases its field: that is what needs approving.
    const sum = await kh.graphql(token, SUM);
    expect(sum.body.errors![0]!.extensions!.approvals).toEqual([expect.objectContaining({ table: 'transactions', field: 'amount', status: 'pending' })]);
    expect(await spent()).toBe(before);
  });

  it('answers, and charges, once a human approves the field', async () => {
    const pending = (await listApprovals(world.t.db, 'pending')).find((a) => a.field === '*');
    await decideApproval(world.t.db, pending!.id, { status: 'approved', by: 'dpo', reason: 'quarterly report', validSeconds: 600 });
    const before = await spent();
    const reply = await kh.graphql(token, BY_CATEGORY);
    expect(reply.status).toBe(200);
    expect(reply.body.data!.transactions_aggregate.groups.length).toBeGreaterThan(0);
    expect(await spent()).toBe(before + 1);
  });
});
