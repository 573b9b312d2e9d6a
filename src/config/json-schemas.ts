/**
 * JSON Schema for every kind of YAML file a steward edits, generated from the zod schemas the loaders validate with,
 * so an editor (yaml-language-server: VS Code, Neovim, Helix, …) validates and completes as the steward types. The
 * files under schema/json-schema/ are written by `keyhole rules schemas`; a test fails when one is stale.
 */
import { z } from 'zod';
import { ruleSetSchema } from '../compliance/rule-schema.ts';
import { ruleFileSchema } from '../masking/rules/rule-file.ts';
import { agentsFileSchema } from './agents.ts';
import { catalogFileSchema } from './catalog.ts';
import { ISSUERS_FILE, issuersFileSchema } from './issuers.ts';
import { policiesFileSchema } from './policies.ts';

export const JSON_SCHEMA_DIR = 'schema/json-schema';

/** Each kind of file, the schema that loads it, and where its files are (relative to the project). */
export const YAML_FILE_KINDS = {
  agents: { schema: agentsFileSchema, files: 'schema/agents.yaml', title: 'Keyhole agents, roles, purposes, officers and zones' },
  catalog: { schema: catalogFileSchema, files: 'schema/catalog.yaml', title: 'Keyhole data catalog' },
  issuers: { schema: issuersFileSchema, files: ISSUERS_FILE, title: 'Keyhole trusted token issuers (identity providers)' },
  policies: { schema: policiesFileSchema, files: 'schema/policies.yaml', title: 'Keyhole policies, privacy budgets and anomaly settings' },
  jurisdiction: { schema: ruleSetSchema, files: 'schema/jurisdictions/*.yaml', title: 'Keyhole jurisdiction rule set' },
  'masking-rules': { schema: ruleFileSchema, files: 'masking-rules/*.yaml', title: 'Keyhole masking rules' },
} as const;

export type YamlFileKind = keyof typeof YAML_FILE_KINDS;

/**
 * The schema of what a steward writes (zod's input side: fields with defaults are optional), as JSON Schema draft 7,
 * the newest draft yaml-language-server fully supports.
 */
export function jsonSchemaOf(kind: YamlFileKind): Record<string, unknown> {
  const { schema, files, title } = YAML_FILE_KINDS[kind];
  const generated = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' });
  return { ...generated, title, description: `${files}; generated from the zod schema by \`keyhole rules schemas\`, do not edit` };
}

/** Every schema file, by its path relative to the project, with the exact text `keyhole rules schemas` writes. */
export function jsonSchemaFiles(): Map<string, string> {
  return new Map(
    (Object.keys(YAML_FILE_KINDS) as YamlFileKind[]).map((kind) => [`${JSON_SCHEMA_DIR}/${kind}.json`, `${JSON.stringify(jsonSchemaOf(kind), null, 2)}\n`]),
  );
}
