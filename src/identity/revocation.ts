import type { Db, Queryable } from '../sql/index.ts';

export interface AgentStatus {
  agentId: string;
  revokedAt: Date | null;
  revokedBy: string | null;
  reason: string | null;
}

/** Revocations live in the shared database so every broker process refuses a revoked agent at once. */
export async function isRevoked(db: Queryable, agentId: string): Promise<{ revoked: boolean; reason: string | null }> {
  const { rows } = await db.query<{ reason: string | null }>(
    'SELECT reason FROM agent_status WHERE agent_id = $1 AND revoked_at IS NOT NULL',
    [agentId],
  );
  return rows.length > 0 ? { revoked: true, reason: rows[0]!.reason } : { revoked: false, reason: null };
}

export async function revokeAgent(db: Db, agentId: string, by: string, reason: string): Promise<void> {
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
