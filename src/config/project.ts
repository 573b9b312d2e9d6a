import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgentRegistry, type AgentRegistry } from './agents.ts';
import { buildCatalog, type Catalog } from './catalog.ts';
import { buildPolicySet, type PolicySet } from './policies.ts';
import { ConfigError, YamlSource } from './yaml-source.ts';

/** The project directory (schema/, masking-rules/): KEYHOLE_ROOT, else the package this code belongs to. */
export function projectRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYHOLE_ROOT || fileURLToPath(new URL('../../', import.meta.url));
}

/** Everything a steward writes under `schema/`, loaded and cross-checked. */
export interface ProjectConfig {
  root: string;
  catalog: Catalog;
  registry: AgentRegistry;
  policies: PolicySet;
}

/** Reads `root/name`; its issues name `name`, relative to the project. */
async function readSource(root: string, name: string): Promise<YamlSource> {
  try {
    return await YamlSource.read(join(root, name), name);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([{ file: name, line: 1, field: '', message: `cannot read file: ${(error as Error).message}` }]);
  }
}

/** Loads `schema/` under `root`. Throws one ConfigError listing every problem found, each with file and line. */
export async function loadProjectConfig(root: string): Promise<ProjectConfig> {
  const [catalogSource, agentsSource, policiesSource] = await Promise.all([
    readSource(root, 'schema/catalog.yaml'),
    readSource(root, 'schema/agents.yaml'),
    readSource(root, 'schema/policies.yaml'),
  ]);
  const catalog = buildCatalog(catalogSource);
  const registry = buildAgentRegistry(agentsSource);
  const policies = buildPolicySet(policiesSource, catalog, registry);
  return { root, catalog, registry, policies };
}
