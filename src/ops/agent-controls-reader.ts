import type { AgentRegistry } from '../config/index.ts';
import type { Queryable } from '../sql/index.ts';
import type { AgentControlsState } from './metrics.ts';

/**
 * Open anomalies and quarantines per agent, as the baseline evaluator left them in PostgreSQL (shared by every
 * broker), for the metrics scrape. Only agents of the registry in force: the label set stays bounded.
 */
export async function readAgentControls(db: Queryable, registry: Pick<AgentRegistry, 'agents'>): Promise<AgentControlsState> {
  const anomalies = await db.query<{ agent_id: string; open: number | string }>(
    "SELECT agent_id, count(*) AS open FROM agent_anomalies WHERE status = 'open' GROUP BY agent_id",
  );
  const quarantined = await db.query<{ agent_id: string }>('SELECT agent_id FROM agent_quarantine');
  const known = (agent: string) => registry.agents.has(agent);
  return {
    openAnomalies: anomalies.rows.filter((row) => known(row.agent_id)).map((row) => ({ agent: row.agent_id, count: Number(row.open) })),
    quarantined: quarantined.rows.map((row) => row.agent_id).filter(known),
  };
}
