import type { Queryable } from '../sql/index.ts';

export interface ApprovalField {
  table: string;
  field: string;
}

export interface Approval {
  id: number;
  agentId: string;
  purpose: string;
  table: string;
  field: string;
  status: 'pending' | 'approved' | 'denied';
  requestedAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  reason: string | null;
  expiresAt: Date | null;
}

interface ApprovalRow {
  id: number;
  agent_id: string;
  purpose: string;
  table_name: string;
  field_name: string;
  status: Approval['status'];
  requested_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  reason: string | null;
  expires_at: Date | null;
}

const fromRow = (row: ApprovalRow): Approval => ({
  id: Number(row.id),
  agentId: row.agent_id,
  purpose: row.purpose,
  table: row.table_name,
  field: row.field_name,
  status: row.status,
  requestedAt: row.requested_at,
  decidedAt: row.decided_at,
  decidedBy: row.decided_by,
  reason: row.reason,
  expiresAt: row.expires_at,
});

/**
 * The fields of `fields` this agent may not read yet. For each, an open (pending) approval request exists
 * afterwards — created here in the caller's transaction, so it commits with the refusal's audit record.
 */
export async function missingApprovals(
  tx: Queryable,
  agentId: string,
  purpose: string,
  fields: readonly ApprovalField[],
  requestId: string,
): Promise<Approval[]> {
  if (fields.length === 0) return [];
  const tables = fields.map((f) => f.table);
  const names = fields.map((f) => f.field);
  const { rows: granted } = await tx.query<{ table_name: string; field_name: string }>(
    `SELECT DISTINCT table_name, field_name FROM approvals
     WHERE agent_id = $1 AND purpose = $2 AND status = 'approved' AND expires_at > now()
       AND (table_name, field_name) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [agentId, purpose, tables, names],
  );
  const missing = fields.filter((f) => !granted.some((g) => g.table_name === f.table && g.field_name === f.field));
  if (missing.length === 0) return [];
  await tx.query(
    `INSERT INTO approvals (agent_id, purpose, table_name, field_name, status, request_id)
     SELECT $1, $2, t, f, 'pending', $5 FROM unnest($3::text[], $4::text[]) AS u(t, f)
     ON CONFLICT (agent_id, purpose, table_name, field_name) WHERE status = 'pending' DO NOTHING`,
    [agentId, purpose, missing.map((f) => f.table), missing.map((f) => f.field), requestId],
  );
  const { rows } = await tx.query<ApprovalRow>(
    `SELECT * FROM approvals WHERE agent_id = $1 AND purpose = $2 AND status = 'pending'
       AND (table_name, field_name) IN (SELECT * FROM unnest($3::text[], $4::text[])) ORDER BY id`,
    [agentId, purpose, missing.map((f) => f.table), missing.map((f) => f.field)],
  );
  return rows.map(fromRow);
}

export async function listApprovals(db: Queryable, status?: Approval['status']): Promise<Approval[]> {
  const { rows } = await db.query<ApprovalRow>(
    `SELECT * FROM approvals ${status ? 'WHERE status = $1' : ''} ORDER BY id DESC LIMIT 500`,
    status ? [status] : [],
  );
  return rows.map(fromRow);
}

export class ApprovalNotPendingError extends Error {
  constructor(id: number) {
    super(`approval ${id} does not exist or is no longer pending`);
    this.name = 'ApprovalNotPendingError';
  }
}

/** Decides a pending request; an approval lasts `validSeconds`, after which the agent must ask again. */
export async function decideApproval(
  db: Queryable,
  id: number,
  decision: { status: 'approved' | 'denied'; by: string; reason: string | null; validSeconds?: number },
): Promise<Approval> {
  const { rows } = await db.query<ApprovalRow>(
    `UPDATE approvals SET status = $2, decided_at = now(), decided_by = $3, reason = $4,
       expires_at = CASE WHEN $2 = 'approved' THEN now() + make_interval(secs => $5) END
     WHERE id = $1 AND status = 'pending' RETURNING *`,
    [id, decision.status, decision.by, decision.reason, decision.validSeconds ?? 24 * 3600],
  );
  if (!rows[0]) throw new ApprovalNotPendingError(id);
  return fromRow(rows[0]);
}
