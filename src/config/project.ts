import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgentRegistry, type AgentRegistry } from './agents.ts';
import { buildCatalog, type Catalog } from './catalog.ts';
import { ISSUERS_FILE, trustedIssuersFrom } from './issuers.ts';
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

/** The text of an optional file under `root`, or null when there is none. */
async function readOptional(root: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(root, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError([{ file: name, line: 1, field: '', message: `cannot read file: ${(error as Error).message}` }]);
  }
}

/**
 * Loads `schema/` under `root`. Throws one ConfigError listing every problem found, each with file and line. The
 * trusted issuers (optional schema/issuers.yaml, or KEYHOLE_ISSUERS) join the agent registry, which identity reads.
 */
export async function loadProjectConfig(root: string, env: NodeJS.ProcessEnv = process.env): Promise<ProjectConfig> {
  const [catalogSource, agentsSource, policiesSource, issuersText] = await Promise.all([
    readSource(root, 'schema/catalog.yaml'),
    readSource(root, 'schema/agents.yaml'),
    readSource(root, 'schema/policies.yaml'),
    readOptional(root, ISSUERS_FILE),
  ]);
  const catalog = buildCatalog(catalogSource);
  const registry = { ...buildAgentRegistry(agentsSource), issuers: trustedIssuersFrom(issuersText, env) };
  const policies = buildPolicySet(policiesSource, catalog, registry);
  return { root, catalog, registry, policies };
}
