import { beforeEach, describe, expect, it } from 'vitest';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';
import { type RawMcpSession, rawMcpSession, toolCall } from './mcp-session.ts';

/**
 * Every POST to /mcp is answered: the SDK's transport answers one once each request in it has its response, matched
 * by JSON-RPC id, so a POST whose response goes elsewhere or nowhere would stay open for good, holding its connection
 * (an agent could pin the broker's every socket that way). A tool call is held in flight here by a lock on the table
 * it reads, while the agent sends what would take its answer away.
 */
describe('an /mcp POST with a tool call in flight is answered', () => {
  const world = useWorld(createPostgresTestDatabase);
  let session: RawMcpSession;

  beforeEach(async () => {
    session = await rawMcpSession(world.kh.broker, await world.kh.token('support-bot'));
  });

  /** Runs `meanwhile` while a list_customers call (its JSON-RPC id returned) waits on a lock of customers; then frees it. */
  async function withCallInFlight(meanwhile: (id: number) => Promise<void>): Promise<Response | 'still open'> {
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const { promise: locked, resolve: lockTaken } = Promise.withResolvers<void>();
    const holding = world.t.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      lockTaken();
      await released;
    });
    await locked;
    const call = toolCall('list_customers', { limit: 1 });
    const inFlight = session.send(call);
    try {
      for (let waited = 0; ; waited += 20) {
        const { rows } = await world.t.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0]!.n > 0) break;
        if (waited > 5_000) throw new Error('the tool call never reached the database');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await meanwhile(call.id);
    } finally {
      release();
      await holding;
    }
    return Promise.race([inFlight, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
  }

  async function answered(response: Response | 'still open'): Promise<{ status: number; body: any }> {
    expect(response, 'the POST with the tool call').not.toBe('still open');
    const reply = response as Response;
    return { status: reply.status, body: await reply.json() };
  }

  it('refuses another request under the id of one awaiting its answer, and answers that one', async () => {
    const first = await withCallInFlight(async (id) => {
      const second = await session.send({ jsonrpc: '2.0', id, method: 'ping' });
      expect(second.status).toBe(400);
      expect(((await second.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
    });
    const { status, body } = await answered(first);
    expect(status).toBe(200);
    expect(body.result.content[1].text).toContain('"customers"');
  });

  it('answers a tool call the agent cancelled', async () => {
    const call = await withCallInFlight(async (id) => {
      expect((await session.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } })).status).toBe(202);
    });
    const { status, body } = await answered(call);
    expect(status).toBe(200);
    expect(body.result.content[1].text).toContain('"customers"');
  });

  it('answers a POST whose session was closed meanwhile', async () => {
    const call = await withCallInFlight(async () => {
      expect((await session.send(undefined, 'DELETE')).status).toBe(200);
    });
    const { status, body } = await answered(call);
    expect(status).toBe(404);
    expect(body.errors[0].extensions.code).toBe('MCP_SESSION_NOT_FOUND');
  });
});
