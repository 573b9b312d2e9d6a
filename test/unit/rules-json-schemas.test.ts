import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_DIR, jsonSchemaFiles, YAML_FILE_KINDS, type YamlFileKind } from '../../src/config/json-schemas.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

/** The YAML files of one kind, relative to the project (a trailing `*.yaml` is every such file of the folder). */
async function filesOf(kind: YamlFileKind): Promise<string[]> {
  const pattern = YAML_FILE_KINDS[kind].files;
  if (!pattern.endsWith('*.yaml')) return [pattern];
  const dir = dirname(pattern);
  return (await readdir(join(PROJECT_ROOT, dir))).filter((name) => name.endsWith('.yaml')).map((name) => `${dir}/${name}`);
}

/** The `$schema=` of a yaml-language-server modeline in the file's header comment (before any YAML content). */
function modelineSchema(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) return undefined;
    const match = /^#\s+yaml-language-server\s*:\s*\$schema=(\S+)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

describe('JSON Schema of the files a steward edits', () => {
  it.each([...jsonSchemaFiles()])('%s is what `keyhole rules schemas` writes from the zod schemas today', async (file, generated) => {
    const committed = await readFile(join(PROJECT_ROOT, file), 'utf8').catch(() => '');
    expect(committed, `${file} is stale: run npx keyhole rules schemas and commit the result`).toBe(generated);
  });

  it.each(Object.keys(YAML_FILE_KINDS) as YamlFileKind[])('every %s file names its schema in its header comment, by a path that resolves', async (kind) => {
    const files = await filesOf(kind);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const schema = modelineSchema(await readFile(join(PROJECT_ROOT, file), 'utf8'));
      expect(schema, `${file} has no yaml-language-server modeline in its header`).toBeDefined();
      const target = join(dirname(join(PROJECT_ROOT, file)), schema!);
      expect(relative(PROJECT_ROOT, target), file).toBe(`${JSON_SCHEMA_DIR}/${kind}.json`);
      expect(existsSync(target)).toBe(true);
    }
  });

  it('describes what a steward writes: defaults optional, choices listed', () => {
    const schema = JSON.parse(jsonSchemaFiles().get(`${JSON_SCHEMA_DIR}/policies.json`)!);
    const table = schema.properties.policies.items.properties.tables.additionalProperties;
    expect(table.properties.access.enum).toEqual(['rows', 'aggregates', 'encrypted']);
    expect(table.required).toEqual(['access', 'fields']);
    expect(table.additionalProperties).toBe(false);
  });
});
