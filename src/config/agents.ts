import { z } from 'zod';
import { ConfigError, type ConfigIssue, type YamlSource } from './yaml-source.ts';

const agentId = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case id (a-z, 0-9, -)');
const jurisdiction = z.string().regex(/^[A-Z]{2}(-[A-Z]{2})?$/, 'expected a jurisdiction code such as SG or EU-DE');

export const agentsFileSchema = z.strictObject({
  purposes: z.record(z.string(), z.string()),
  roles: z.record(z.string(), z.string()),
  agents: z.record(
    agentId,
    z.strictObject({
      description: z.string(),
      role: z.string(),
      purposes: z.array(z.string()).min(1),
      location: jurisdiction,
      serves: z.array(jurisdiction).default([]),
      transferBases: z.record(jurisdiction, z.array(z.string())).default({}),
    }),
  ),
  officers: z.record(agentId, z.strictObject({ description: z.string(), jurisdictions: z.array(jurisdiction) })),
});

export interface AgentDefinition {
  id: string;
  description: string;
  role: string;
  purposes: readonly string[];
  location: string;
  serves: readonly string[];
  transferBases: Readonly<Record<string, readonly string[]>>;
}

export interface OfficerDefinition {
  id: string;
  description: string;
  jurisdictions: readonly string[];
}

export interface AgentRegistry {
  purposes: ReadonlyMap<string, string>;
  roles: ReadonlyMap<string, string>;
  agents: ReadonlyMap<string, AgentDefinition>;
  officers: ReadonlyMap<string, OfficerDefinition>;
}

export function buildAgentRegistry(source: YamlSource): AgentRegistry {
  const file = source.parse(agentsFileSchema);
  const issues: ConfigIssue[] = [];
  for (const [id, agent] of Object.entries(file.agents)) {
    if (!file.roles[agent.role]) issues.push(source.issue(['agents', id, 'role'], `unknown role "${agent.role}"`));
    agent.purposes.forEach((purpose, i) => {
      if (!file.purposes[purpose]) issues.push(source.issue(['agents', id, 'purposes', i], `unknown purpose "${purpose}"`));
    });
    if (file.officers[id]) issues.push(source.issue(['officers', id], `"${id}" is already an agent: officers are never agents`));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    purposes: new Map(Object.entries(file.purposes)),
    roles: new Map(Object.entries(file.roles)),
    agents: new Map(Object.entries(file.agents).map(([id, agent]) => [id, { id, ...agent }])),
    officers: new Map(Object.entries(file.officers).map(([id, officer]) => [id, { id, ...officer }])),
  };
}
