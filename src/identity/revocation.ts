import type { Db, Queryable } from '../sql/index.ts';

export interface AgentStatus {
  agentId: string;
  revokedAt: Date | null;
  revokedBy: string | null;
  reason: string | null;
}

/** Revocations live in the shared database so every broker process refuses a revoked agent at once. */
export async function isRevoked(db: Queryable, agentId: string): Promise<{ revoked: boolean; reason: string | null }> {
  const { rows } = await db.query<{ reason: string | null }>('SELECT reason FROM agent_status WHERE agent_id = $1 AND revoked_at IS NOT NULL', [agentId]);
  return rows.length > 0 ? { revoked: true, reason: rows[0]!.reason } : { revoked: false, reason: null };
}

/** Which of these agents are revoked now, with the reason given. */
async function revokedAmong(db: Queryable, agentIds: readonly string[]): Promise<Map<string, string | null>> {
  if (agentIds.length === 0) return new Map();
  const { rows } = await db.query<{ agent_id: string; reason: string | null }>(
    'SELECT agent_id, reason FROM agent_status WHERE agent_id = ANY($1::text[]) AND revoked_at IS NOT NULL',
    [agentIds],
  );
  return new Map(rows.map((row) => [row.agent_id, row.reason]));
}

/**
 * Where revocation is enforced. The binding check runs inside the transaction that commits a request's audit
 * record — the last step before any data leaves — once per batch of records, not once per request. Agents
 * this process has seen revoked there are remembered and refused before their requests run; only they cost a
 * lookup up front, which also notices when one of them has been restored.
 */
export class RevocationGate {
  private readonly knownRevoked = new Set<string>();

  /** Before a request runs: whether this agent, if seen revoked before, still is. */
  async refusesUpFront(db: Queryable, agentId: string): Promise<{ revoked: boolean; reason: string | null }> {
    if (!this.knownRevoked.has(agentId)) return { revoked: false, reason: null };
    const status = await isRevoked(db, agentId);
    if (!status.revoked) this.knownRevoked.delete(agentId);
    return status;
  }

  /** In the record's transaction: the agents among these revoked now, with reasons. */
  async revokedNow(tx: Queryable, agentIds: readonly string[]): Promise<Map<string, string | null>> {
    const revoked = await revokedAmong(tx, agentIds);
    for (const agentId of agentIds) {
      if (revoked.has(agentId)) this.knownRevoked.add(agentId);
      else this.knownRevoked.delete(agentId);
    }
    return revoked;
  }
}

export async function revokeAgent(db: Queryable, agentId: string, by: string, reason: string): Promise<void> {
  await db.query(
    `INSERT INTO agent_status (agent_id, revoked_at, revoked_by, reason) VALUES ($1, now(), $2, $3)
     ON CONFLICT (agent_id) DO UPDATE SET revoked_at = now(), revoked_by = $2, reason = $3`,
    [agentId, by, reason],
  );
}

export async function restoreAgent(db: Db, agentId: string): Promise<void> {
  await db.query('UPDATE agent_status SET revoked_at = NULL, revoked_by = NULL, reason = NULL WHERE agent_id = $1', [agentId]);
}

export async function agentStatuses(db: Db): Promise<Map<string, AgentStatus>> {
  const { rows } = await db.query<{ agent_id: string; revoked_at: Date | null; revoked_by: string | null; reason: string | null }>(
    'SELECT agent_id, revoked_at, revoked_by, reason FROM agent_status',
  );
  return new Map(rows.map((r) => [r.agent_id, { agentId: r.agent_id, revokedAt: r.revoked_at, revokedBy: r.revoked_by, reason: r.reason }]));
}
