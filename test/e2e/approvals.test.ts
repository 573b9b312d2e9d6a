import { beforeAll, describe, expect, it } from 'vitest';
import { decideApproval, listApprovals } from '../../src/approvals/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

const WITH_ID = '{ customers { id full_name national_id } }';

describe.each(ENGINES)('human approval of reserved fields on $engine', ({ create }) => {
  const world = useWorld(create);
  let kyc: string;
  beforeAll(async () => {
    kyc = await world.kh.token('kyc-bot');
  });

  it('refuses national IDs until a human approves, leaving one pending request however often asked', async () => {
    const first = await world.kh.graphql(kyc, WITH_ID);
    expect(first.status).toBe(403);
    expect(first.body.data ?? null).toBeNull();
    expect(first.body.errors![0]!.extensions).toMatchObject({
      code: 'APPROVAL_REQUIRED',
      approvals: [{ table: 'customers', field: 'national_id', status: 'pending' }],
    });
    await world.kh.graphql(kyc, WITH_ID);
    const pending = await listApprovals(world.t.db, 'pending');
    expect(pending).toHaveLength(1);
    const { rows } = await world.t.db.query<{ decision: string; code: string }>('SELECT decision, code FROM audit_log ORDER BY seq DESC LIMIT 1');
    expect(rows[0]).toEqual({ decision: 'pending_approval', code: 'APPROVAL_REQUIRED' });
    // Fields that need no approval stay available meanwhile.
    expect((await world.kh.graphql(kyc, '{ customers { id full_name } }')).body.data!.customers).toEqual([{ id: 1, full_name: 'Tan Wei Ling' }]);
  });

  it('serves the field as the masking rules say once approved, and refuses again when the approval expires', async () => {
    const [pending] = await listApprovals(world.t.db, 'pending');
    await decideApproval(world.t.db, pending!.id, { status: 'approved', by: 'dpo', reason: 'customer onboarding', validSeconds: 3600 });
    const reply = await world.kh.graphql(kyc, WITH_ID);
    expect(reply.status).toBe(200);
    expect(reply.body.data!.customers).toEqual([{ id: 1, full_name: 'Tan Wei Ling', national_id: 'S*****67D' }]);
    await world.t.db.query("UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1", [pending!.id]);
    expect((await world.kh.graphql(kyc, WITH_ID)).body.errors![0]!.extensions?.code).toBe('APPROVAL_REQUIRED');
  });

  it('keeps refusing after a denial', async () => {
    const [pending] = await listApprovals(world.t.db, 'pending');
    await decideApproval(world.t.db, pending!.id, { status: 'denied', by: 'dpo', reason: 'no onboarding in progress' });
    expect((await world.kh.graphql(kyc, WITH_ID)).status).toBe(403);
  });
});
