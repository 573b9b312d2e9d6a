import { type AgentRegistry, stricterZone, type ZoneName } from '../../config/index.ts';
import type { AgentZone } from './store.ts';

/** One agent's zones as officers and the CLI list them. */
export interface AgentZoneReport extends AgentZone {
  /** What agents.yaml asks for; null when the file no longer declares the agent. */
  asked: ZoneName | null;
  /** What its requests are served in: the stricter of asked and in force; null when it is not served at all. */
  servedIn: ZoneName | null;
}

export function agentZoneReport(zone: AgentZone, registry: AgentRegistry): AgentZoneReport {
  const asked = registry.agents.get(zone.agentId)?.zone ?? null;
  return { ...zone, asked, servedIn: asked && stricterZone(asked, zone.zone) };
}
