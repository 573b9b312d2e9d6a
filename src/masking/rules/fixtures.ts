/**
 * `keyhole rules test`: fixture files under `masking-rules/tests/`, modelled on Apache Ranger's
 * policy-engine tests — a request (agent, purpose, table, the row's subject jurisdiction), an input row,
 * and the expected result (the masked row and which fields are hidden). Keyed functions run under a fixed
 * fixture key, so a token can be written as a pattern (`{ pattern: '^cus_[a-z2-7]{26}$' }`).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, type ProjectConfig, YamlSource } from '../../config/index.ts';
import { buildView } from '../../policy/index.ts';
import { createMaskingKeys, type MaskingKeys } from '../mask-functions.ts';
import { applyExposure } from './apply.ts';
import { RULES_DIR, type MaskingRuleSet } from './load.ts';
import { deciderFor } from './stage.ts';

export const FIXTURES_DIR = `${RULES_DIR}/tests`;

/** The key keyed masks use in fixtures: fixed, so a fixture may also pin an exact token. Never the broker's. */
export function fixtureKeys(): MaskingKeys {
  return createMaskingKeys(createHash('sha256').update('keyhole masking-rules fixtures').digest(), 'fixtures');
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** A literal, or `{ pattern: <regular expression> }` for values that vary (keyed tokens). */
const expectedValue = z.unknown().superRefine((value, ctx) => {
  if (value === null || typeof value !== 'object' || !('pattern' in value)) return;
  if (typeof value.pattern !== 'string' || !isRegExp(value.pattern)) ctx.addIssue({ code: 'custom', message: 'expected { pattern: <a regular expression> }' });
});

const fixtureSchema = z.strictObject({
  tests: z.array(
    z.strictObject({
      name: z.string().min(1),
      request: z.strictObject({
        agent: z.string(),
        purpose: z.string().optional(),
        table: z.string(),
        subjectJurisdiction: z.string().optional(),
      }),
      row: z.record(z.string(), z.unknown()),
      result: z.strictObject({
        row: z.record(z.string(), expectedValue).default({}),
        hidden: z.array(z.string()).default([]),
      }),
    }),
  ),
});

export interface FixtureCase {
  file: string;
  line: number;
  name: string;
  failures: string[];
}

export async function readFixtureSources(root: string): Promise<YamlSource[]> {
  const dir = join(root, FIXTURES_DIR);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return Promise.all(names.map(async (n) => new YamlSource(`${FIXTURES_DIR}/${n}`, await readFile(join(dir, n), 'utf8'))));
}

/** Runs every case; a fixture that names an unknown agent, table or field is a ConfigError (file, line). */
export function runFixtures(sources: readonly YamlSource[], config: ProjectConfig, set: MaskingRuleSet, keys: MaskingKeys): FixtureCase[] {
  const { decide, version } = deciderFor(set, keys);
  const issues: ConfigIssue[] = [];
  const cases: FixtureCase[] = [];
  for (const source of sources) {
    let file: z.output<typeof fixtureSchema>;
    try {
      file = source.parse(fixtureSchema);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    for (const [i, test] of file.tests.entries()) {
      const at = ['tests', i];
      const agent = config.registry.agents.get(test.request.agent);
      const table = config.catalog.tables.get(test.request.table);
      if (!agent) {
        issues.push(source.issue([...at, 'request', 'agent'], `unknown agent "${test.request.agent}"`));
        continue;
      }
      if (!table) {
        issues.push(source.issue([...at, 'request', 'table'], `unknown table "${test.request.table}"`));
        continue;
      }
      const purpose = test.request.purpose ?? agent.purposes[0]!;
      if (!agent.purposes.includes(purpose)) {
        issues.push(source.issue([...at, 'request', 'purpose'], `${agent.id} may not act for "${purpose}"`));
        continue;
      }
      const unknown = [...Object.keys(test.row), ...Object.keys(test.result.row), ...test.result.hidden].filter((f) => !table.columns.has(f));
      if (unknown.length > 0) {
        issues.push(source.issue(at, `unknown column(s) of ${table.name}: ${unknown.join(', ')}`));
        continue;
      }
      const viewTable = buildView(config, agent, purpose, decide, version).tables.get(table.name);
      const jurisdictionColumn = table.jurisdiction?.table === table.name ? table.jurisdiction.column : undefined;
      const subject = test.request.subjectJurisdiction ?? (jurisdictionColumn ? test.row[jurisdictionColumn] : undefined);
      const failures: string[] = [];
      for (const [name, value] of Object.entries(test.row)) {
        const field = viewTable?.policy.access === 'rows' ? viewTable.fields.get(name) : undefined;
        const expectHidden = test.result.hidden.includes(name);
        const expected = test.result.row[name];
        if (!expectHidden && !(name in test.result.row)) failures.push(`${name}: the fixture says neither its value nor that it is hidden`);
        else if (!field) {
          if (!expectHidden) failures.push(`${name}: expected ${show(expected)}, but the field is hidden in this view`);
        } else {
          const actual = applyExposure(field.exposure, value, typeof subject === 'string' ? subject : null);
          if (expectHidden) failures.push(`${name}: expected hidden, but the view shows ${show(actual)}`);
          else if (!matches(actual, expected)) failures.push(`${name}: expected ${show(expected)}, got ${show(actual)}`);
        }
      }
      cases.push({ file: source.file, line: source.lineOf(at), name: test.name, failures });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return cases;
}

function matches(actual: unknown, expected: unknown): boolean {
  if (expected !== null && typeof expected === 'object' && 'pattern' in expected) {
    return typeof actual === 'string' && new RegExp(String(expected.pattern)).test(actual);
  }
  return show(actual) === show(expected);
}

function show(value: unknown): string {
  return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'undefined');
}
