import { type ActorKind, type AuditDraft, appendAuditRecords, type Decision, stateChangeDraft } from '../../audit/index.ts';
import type { AgentRegistry, ZoneName } from '../../config/index.ts';
import type { Db, Queryable } from '../../sql/index.ts';

/** An agent's zone as the database keeps it (migration 120-agent-zones.sql). */
export interface AgentZone {
  agentId: string;
  /** The zone in force, as last approved. */
  zone: ZoneName;
  /** Null for the sandbox a new agent starts in. */
  approvedBy: string | null;
  approvedAt: Date | null;
  /** What agents.yaml asks for when it differs from the zone in force, and the officers' answer so far. */
  request: { zone: ZoneName; at: Date; status: 'pending' | 'denied' } | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  reason: string | null;
}

interface AgentZoneRow {
  agent_id: string;
  zone: ZoneName;
  approved_by: string | null;
  approved_at: Date | null;
  requested_zone: ZoneName | null;
  requested_at: Date | null;
  request_status: 'pending' | 'denied' | null;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
}

const fromRow = (row: AgentZoneRow): AgentZone => ({
  agentId: row.agent_id,
  zone: row.zone,
  approvedBy: row.approved_by,
  approvedAt: row.approved_at,
  request: row.requested_zone && row.request_status ? { zone: row.requested_zone, at: row.requested_at!, status: row.request_status } : null,
  decidedBy: row.decided_by,
  decidedAt: row.decided_at,
  reason: row.reason,
});

export async function listAgentZones(db: Queryable): Promise<AgentZone[]> {
  const { rows } = await db.query<AgentZoneRow>('SELECT * FROM agent_zones ORDER BY agent_id');
  return rows.map(fromRow);
}

/** The zones in force of these agents; an agent without a row has none yet (it is new: the sandbox). */
export async function zonesInForceOf(db: Queryable, agentIds: readonly string[]): Promise<Map<string, ZoneName>> {
  const { rows } = await db.query<{ agent_id: string; zone: ZoneName }>('SELECT agent_id, zone FROM agent_zones WHERE agent_id = ANY($1::text[])', [agentIds]);
  return new Map(rows.map((row) => [row.agent_id, row.zone]));
}

/** Who an audited zone event is by. */
export interface ZoneActor {
  kind: ActorKind;
  id: string | null;
}

/** The steward, through agents.yaml, as broker starts and zone commands read it. */
const FILE_ACTOR: ZoneActor = { kind: 'cli', id: null };

function zoneRecord(actor: ZoneActor, operationKind: string, decision: Decision, details: Record<string, unknown>): AuditDraft {
  return stateChangeDraft({ actor, operationKind, decision, tables: ['agent_zones'], details });
}

/** What reconciling agents.yaml with the zones in force did. */
export interface ZoneSync {
  /** The file's zones became the zones in force: the first start over a database that had recorded none. */
  adopted: string[];
  /** Move requests opened for an officer (a new agent asking for production is one). */
  opened: Array<{ agent: string; from: ZoneName; to: ZoneName }>;
  /** Requests dropped because the file asks for the zone in force again. */
  withdrawn: Array<{ agent: string; zone: ZoneName; dropped: ZoneName }>;
}

/**
 * Reconciles the zones agents.yaml asks for with the zones in force, as every broker start and zone command does:
 * a new agent gets the sandbox in force (and a request when the file asks for more); a differing agent gets a
 * pending request, unless the same zone was already asked for (pending, or denied: asking again needs the file to
 * change); an agent whose file asks for its zone in force again has its request withdrawn. Opening and withdrawing
 * are audited in the same transaction. A database that has never recorded a zone adopts the file's as in force,
 * approved by the operator who deployed it: an install, or an upgrade to zones, keeps its agents where they ran.
 */
export async function syncZoneRequests(db: Db, registry: AgentRegistry, auditKey: Uint8Array): Promise<ZoneSync> {
  const agents = [...registry.agents.values()];
  return db.transaction(async (tx) => {
    // Brokers starting together reconcile one after the other; requests are not blocked by this (they never read here).
    await tx.query('LOCK TABLE agent_zones IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await tx.query<AgentZoneRow>('SELECT * FROM agent_zones');
    const sync: ZoneSync = { adopted: [], opened: [], withdrawn: [] };
    if (rows.length === 0) {
      await tx.query(
        `INSERT INTO agent_zones (agent_id, zone, approved_by, approved_at, reason)
         SELECT a, z, 'operator', now(), 'adopted from schema/agents.yaml: the first start that recorded zones' FROM unnest($1::text[], $2::text[]) AS u(a, z)`,
        [agents.map((a) => a.id), agents.map((a) => a.zone)],
      );
      sync.adopted = agents.map((a) => a.id);
      return sync;
    }
    const recorded = new Map(rows.map((row) => [row.agent_id, row]));
    for (const agent of agents) {
      const row = recorded.get(agent.id);
      if (!row) {
        await tx.query("INSERT INTO agent_zones (agent_id, zone) VALUES ($1, 'sandbox')", [agent.id]);
        if (agent.zone !== 'sandbox') sync.opened.push({ agent: agent.id, from: 'sandbox', to: agent.zone });
      } else if (row.zone === agent.zone) {
        if (row.requested_zone) sync.withdrawn.push({ agent: agent.id, zone: row.zone, dropped: row.requested_zone });
      } else if (row.requested_zone !== agent.zone) {
        sync.opened.push({ agent: agent.id, from: row.zone, to: agent.zone });
      }
    }
    for (const { agent, to } of sync.opened) {
      await tx.query("UPDATE agent_zones SET requested_zone = $2, requested_at = now(), request_status = 'pending' WHERE agent_id = $1", [agent, to]);
    }
    for (const { agent } of sync.withdrawn) {
      await tx.query('UPDATE agent_zones SET requested_zone = NULL, requested_at = NULL, request_status = NULL WHERE agent_id = $1', [agent]);
    }
    const records = [
      ...sync.opened.map(({ agent, from, to }) =>
        zoneRecord(FILE_ACTOR, 'zone_change_request', 'pending_approval', { agent, zoneInForce: from, requestedZone: to, askedBy: 'schema/agents.yaml' }),
      ),
      ...sync.withdrawn.map(({ agent, zone, dropped }) =>
        zoneRecord(FILE_ACTOR, 'zone_change_withdrawn', 'allowed', { agent, zoneInForce: zone, withdrawnZone: dropped, askedBy: 'schema/agents.yaml' }),
      ),
    ];
    if (records.length > 0) await appendAuditRecords(tx, auditKey, records);
    return sync;
  });
}

export class ZoneChangeNotPendingError extends Error {
  constructor(agentId: string) {
    super(`no zone change of "${agentId}" is waiting for a decision`);
    this.name = 'ZoneChangeNotPendingError';
  }
}

export interface ZoneDecision {
  approve: boolean;
  by: string;
  reason: string | null;
}

/**
 * Decides an agent's pending zone change in the caller's transaction: approved, the requested zone is in force
 * (every broker serves it from its next look at the database); denied, the request stays on record as denied. The
 * caller audits the decision in the same transaction (the officer API's own record, or decideZoneChangeAudited).
 */
export async function decideZoneChange(tx: Queryable, agentId: string, decision: ZoneDecision): Promise<{ before: AgentZone; after: AgentZone }> {
  const { rows: pending } = await tx.query<AgentZoneRow>("SELECT * FROM agent_zones WHERE agent_id = $1 AND request_status = 'pending' FOR UPDATE", [agentId]);
  if (!pending[0]) throw new ZoneChangeNotPendingError(agentId);
  const { rows } = await tx.query<AgentZoneRow>(
    `UPDATE agent_zones SET
       zone = CASE WHEN $2 THEN requested_zone ELSE zone END,
       approved_by = CASE WHEN $2 THEN $3 ELSE approved_by END,
       approved_at = CASE WHEN $2 THEN now() ELSE approved_at END,
       requested_zone = CASE WHEN $2 THEN NULL ELSE requested_zone END,
       requested_at = CASE WHEN $2 THEN NULL ELSE requested_at END,
       request_status = CASE WHEN $2 THEN NULL ELSE 'denied' END,
       decided_by = $3, decided_at = now(), reason = $4
     WHERE agent_id = $1 RETURNING *`,
    [agentId, decision.approve, decision.by, decision.reason],
  );
  return { before: fromRow(pending[0]), after: fromRow(rows[0]!) };
}

/** decideZoneChange with its own audit record, for callers outside an audited request (the CLI). */
export async function decideZoneChangeAudited(db: Db, auditKey: Uint8Array, agentId: string, decision: ZoneDecision, actor: ZoneActor): Promise<AgentZone> {
  return db.transaction(async (tx) => {
    const { before, after } = await decideZoneChange(tx, agentId, decision);
    await appendAuditRecords(tx, auditKey, [
      zoneRecord(actor, 'zone_change_decision', 'allowed', {
        agent: agentId,
        approved: decision.approve,
        zoneBefore: before.zone,
        requestedZone: before.request!.zone,
        zoneInForce: after.zone,
        reason: decision.reason,
      }),
    ]);
    return after;
  });
}
