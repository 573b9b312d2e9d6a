import { type AuditDraft, appendAuditRecord, stateChangeDraft } from '../../audit/index.ts';
import type { AgentRegistry } from '../../config/index.ts';
import { revokeAgent } from '../../identity/index.ts';
import type { Db, Queryable } from '../../sql/index.ts';

export const INCIDENT_STATUSES = ['open', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export interface Incident {
  id: number;
  agent: string;
  openedAt: Date;
  openedBy: string;
  reason: string;
  status: IncidentStatus;
  closedAt: Date | null;
  closedBy: string | null;
  note: string | null;
}

/** Something the incident commands refuse (an unknown agent or incident, a second open incident): one clear line. */
export class IncidentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentError';
  }
}

export function requireKnownAgent(registry: AgentRegistry, agent: string): void {
  if (!registry.agents.has(agent)) throw new IncidentError(`unknown agent "${agent}"; known: ${[...registry.agents.keys()].sort().join(', ')}`);
}

interface IncidentRow {
  id: number;
  agent_id: string;
  opened_at: Date;
  opened_by: string;
  reason: string;
  status: IncidentStatus;
  closed_at: Date | null;
  closed_by: string | null;
  note: string | null;
}

const COLUMNS = 'id, agent_id, opened_at, opened_by, reason, status, closed_at, closed_by, note';

const fromRow = (row: IncidentRow): Incident => ({
  id: Number(row.id),
  agent: row.agent_id,
  openedAt: new Date(row.opened_at),
  openedBy: row.opened_by,
  reason: row.reason,
  status: row.status,
  closedAt: row.closed_at === null ? null : new Date(row.closed_at),
  closedBy: row.closed_by,
  note: row.note,
});

/** An incident command's audit record: a person's action on shared state, like an erasure or a prune. */
function incidentRecord(operationKind: 'incident_open' | 'incident_close', by: string, incident: Incident): AuditDraft {
  return stateChangeDraft({
    actor: { kind: 'cli', id: by },
    operationKind,
    tables: operationKind === 'incident_open' ? ['agent_status', 'incidents'] : ['incidents'],
    details: {
      incident: incident.id,
      agent: incident.agent,
      ...(operationKind === 'incident_open' ? { reason: incident.reason } : { note: incident.note }),
    },
  });
}

export interface OpenIncidentRequest {
  agent: string;
  by: string;
  reason: string;
}

/**
 * Contains an agent: revokes it (the same revocation as `agents revoke`, which every broker enforces in the
 * transaction of each audit record it commits) and opens an incident, audited, in one transaction. An agent
 * already under an open incident is refused, so nothing is revoked twice under different reasons.
 */
export async function openIncident(
  db: Db,
  context: { registry: AgentRegistry; auditKey: Uint8Array },
  request: OpenIncidentRequest,
): Promise<{ incident: Incident; auditSeq: number }> {
  requireKnownAgent(context.registry, request.agent);
  return db.transaction(async (tx) => {
    const inserted = await tx.query<IncidentRow>(
      `INSERT INTO incidents (agent_id, opened_by, reason) VALUES ($1, $2, $3)
       ON CONFLICT (agent_id) WHERE status = 'open' DO NOTHING RETURNING ${COLUMNS}`,
      [request.agent, request.by, request.reason],
    );
    const row = inserted.rows[0];
    if (!row) {
      const open = await tx.query<{ id: number }>(`SELECT id FROM incidents WHERE agent_id = $1 AND status = 'open'`, [request.agent]);
      throw new IncidentError(`agent "${request.agent}" is already under open incident ${open.rows[0]?.id}; close it first`);
    }
    const incident = fromRow(row);
    await revokeAgent(tx, incident.agent, incident.openedBy, `incident ${incident.id}: ${incident.reason}`);
    const record = await appendAuditRecord(tx, context.auditKey, incidentRecord('incident_open', request.by, incident));
    return { incident, auditSeq: record.seq };
  });
}

/** Closes an open incident with a note, audited. The agent stays revoked: restoring it is a decision of its own. */
export async function closeIncident(db: Db, auditKey: Uint8Array, request: { id: number; by: string; note: string | null }): Promise<Incident> {
  return db.transaction(async (tx) => {
    const updated = await tx.query<IncidentRow>(
      `UPDATE incidents SET status = 'closed', closed_at = now(), closed_by = $2, note = $3 WHERE id = $1 AND status = 'open' RETURNING ${COLUMNS}`,
      [request.id, request.by, request.note],
    );
    const row = updated.rows[0];
    if (!row) {
      const existing = await tx.query<{ status: string }>('SELECT status FROM incidents WHERE id = $1', [request.id]);
      throw new IncidentError(existing.rows.length > 0 ? `incident ${request.id} is already closed` : `no incident ${request.id}`);
    }
    const incident = fromRow(row);
    await appendAuditRecord(tx, auditKey, incidentRecord('incident_close', request.by, incident));
    return incident;
  });
}

/** Incidents, newest first, of one agent and/or status when given. */
export async function listIncidents(db: Queryable, filter: { agent?: string | null; status?: IncidentStatus | null } = {}): Promise<Incident[]> {
  const { rows } = await db.query<IncidentRow>(
    `SELECT ${COLUMNS} FROM incidents
      WHERE ($1::text IS NULL OR agent_id = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY opened_at DESC, id DESC`,
    [filter.agent ?? null, filter.status ?? null],
  );
  return rows.map(fromRow);
}

/**
 * The incident a report about the agent's traffic since `since` counts deadlines from: its latest incident
 * that is still open or was opened since then. None: the report counts from `since`.
 */
export async function incidentConcerning(db: Queryable, agent: string, since: Date): Promise<Incident | null> {
  const { rows } = await db.query<IncidentRow>(
    `SELECT ${COLUMNS} FROM incidents WHERE agent_id = $1 AND (status = 'open' OR opened_at >= $2)
      ORDER BY opened_at DESC, id DESC LIMIT 1`,
    [agent, since],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}
