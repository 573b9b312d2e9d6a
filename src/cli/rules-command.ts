import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { Command } from 'commander';
import { loadJurisdictionRules } from '../compliance/index.ts';
import { type AgentDefinition, ConfigError, type ConfigIssue, loadProjectConfig, type ProjectConfig, projectRoot } from '../config/index.ts';
import { jsonSchemaFiles } from '../config/json-schemas.ts';
import { formatFinding, type LintFinding, lintProject, readLintSources } from './rules-lint.ts';
import { createMaskingKeys, deciderFor, loadMaskingRules, type MaskingKeys } from '../masking/index.ts';
import { explainView, formatExplanation } from '../masking/rules/explain.ts';
import { fixtureKeys, FIXTURES_DIR, readFixtureSources, runFixtures } from '../masking/rules/fixtures.ts';
import { DEFAULT_K_THRESHOLD, measureKAnonymity } from '../masking/rules/k-anonymity.ts';
import { buildView } from '../policy/index.ts';
import { readRulesVersion } from '../audit/rules-versions.ts';
import { CliError, withContext } from './context.ts';
import { fileHashes, formatDrift, LOADED_FILES_COMMAND, rulesDriftOrNote } from './rules-drift.ts';
import { BROKER_URL_OPTION, findRunningBroker } from './running-broker.ts';
import { stderr, stdout } from './output.ts';

/** Checking and explaining never shows a masked value, so a throwaway key will do. */
const throwawayKeys = (): MaskingKeys => createMaskingKeys(randomBytes(32), 'check');

function agentOf(config: ProjectConfig, id: string): AgentDefinition {
  const agent = config.registry.agents.get(id);
  if (!agent) throw new CliError(`unknown agent "${id}" (agents: ${[...config.registry.agents.keys()].join(', ')})`);
  return agent;
}

function purposesOf(agent: AgentDefinition, purpose: string | undefined): readonly string[] {
  if (purpose === undefined) return agent.purposes;
  if (!agent.purposes.includes(purpose)) throw new CliError(`${agent.id} may not act for "${purpose}" (its purposes: ${agent.purposes.join(', ')})`);
  return [purpose];
}

/** Issues name files relative to the project, so a steward can paste them into an editor wherever they stand. */
const relativeTo =
  (root: string) =>
  (issue: ConfigIssue): ConfigIssue => ({ ...issue, file: isAbsolute(issue.file) ? relative(root, issue.file) : issue.file });

/** The loaded project, or the errors that stop it loading (every file's, not only the first one's). */
async function loadForCheck(root: string) {
  const keys = throwawayKeys();
  const jurisdictionsDir = join(root, 'schema', 'jurisdictions');
  const [config, jurisdictions] = await Promise.allSettled([loadProjectConfig(root), loadJurisdictionRules(jurisdictionsDir)]);
  const issues: ConfigIssue[] = [];
  for (const result of [config, jurisdictions]) {
    if (result.status === 'rejected') {
      if (!(result.reason instanceof ConfigError)) throw result.reason;
      issues.push(...result.reason.issues);
    }
  }
  if (config.status === 'rejected' || jurisdictions.status === 'rejected') return { issues: issues.map(relativeTo(root)) };
  try {
    const masking = await loadMaskingRules(root, config.value, keys);
    return { config: config.value, jurisdictions: jurisdictions.value, masking, decide: deciderFor(masking, keys).decide, issues };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { issues: error.issues.map(relativeTo(root)) };
  }
}

async function check(options: { json?: boolean; broker?: string }): Promise<void> {
  const root = projectRoot();
  const [loaded, running] = await Promise.all([loadForCheck(root), findRunningBroker(options.broker)]);
  const drift = running && (await rulesDriftOrNote(running, root));
  // A file that does not load says what it expected in its message; the linter only runs over a project that loads.
  let findings: LintFinding[] = loaded.issues.map((issue) => ({ ...issue, severity: 'error' }));
  if (loaded.config) {
    const { config, masking, decide, jurisdictions } = loaded;
    const sources = await readLintSources(root, jurisdictions.sets);
    const risky: LintFinding[] = masking.warnings.map((warning) => ({ ...warning, severity: 'warning' }));
    findings = [...lintProject({ config, masking, decide, jurisdictions, sources }), ...risky];
  }
  const errorCount = findings.filter((f) => f.severity === 'error').length;
  const warningCount = findings.length - errorCount;
  if (errorCount > 0) process.exitCode = 1;
  if (options.json) {
    stdout().write(
      `${JSON.stringify({ ok: errorCount === 0, errors: errorCount, warnings: warningCount, version: loaded.masking?.version ?? null, findings, ...(drift && { runningBroker: typeof drift === 'string' ? { error: drift } : drift }) }, null, 2)}\n`,
    );
    return;
  }
  if (typeof drift === 'string') stderr().write(`keyhole: ${drift}\n`);
  const driftLines =
    drift && typeof drift !== 'string'
      ? formatDrift(drift)
          .map((line) => `${line}\n`)
          .join('')
      : '';
  for (const f of findings) stderr().write(`${formatFinding(f)}\n`);
  if (!loaded.masking) {
    stdout().write(`FAILED: ${errorCount} error(s) stop schema/ and masking-rules/ from loading; the broker would refuse to start\n${driftLines}`);
    return;
  }
  const what = `schema/ (catalog, agents, policies, ${loaded.jurisdictions.sets.length} jurisdiction rule set(s)) and ${loaded.masking.rules.length} masking rule(s) in ${loaded.masking.files.length} file(s)`;
  stdout().write(
    `${errorCount === 0 ? 'ok' : 'FAILED'}: ${what} load; ${errorCount} error(s), ${warningCount} warning(s); version ${loaded.masking.version}\n${driftLines}`,
  );
}

/** For `rules check` through the broker: the files of a stored rules version, as path → SHA-256 (JSON). */
async function loadedFiles(options: { version: string }): Promise<void> {
  await withContext('rules loaded-files', async ({ db }) => {
    const version = await readRulesVersion(db, Number(options.version));
    if (!version) throw new CliError(`no rules version ${options.version} is stored`);
    stdout().write(`${JSON.stringify(fileHashes(version.files))}\n`);
  });
}

/** Writes schema/json-schema/*.json from the zod schemas (each YAML file names its schema in its header comment). */
async function schemas(): Promise<void> {
  const root = projectRoot();
  for (const [file, text] of jsonSchemaFiles()) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
    stdout().write(`wrote ${file}\n`);
  }
}

async function test(): Promise<void> {
  const root = projectRoot();
  const config = await loadProjectConfig(root);
  const keys = fixtureKeys();
  const set = await loadMaskingRules(root, config, keys);
  const cases = runFixtures(await readFixtureSources(root), config, set, keys);
  if (cases.length === 0) throw new CliError(`no fixtures found: write them under ${FIXTURES_DIR}/ (see docs/masking-rules.md)`);
  for (const c of cases) {
    stdout().write(`${c.failures.length === 0 ? 'pass' : 'FAIL'}  ${c.file}:${c.line}  ${c.name}\n`);
    for (const failure of c.failures) stdout().write(`        ${failure}\n`);
  }
  const failed = cases.filter((c) => c.failures.length > 0).length;
  stdout().write(`\n${cases.length - failed} passed, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
}

interface ExplainOptions {
  agent: string;
  purpose?: string;
  table?: string;
  kAnonymity?: boolean;
}

async function explain(options: ExplainOptions): Promise<void> {
  if (options.kAnonymity) return kAnonymity(options);
  const root = projectRoot();
  const config = await loadProjectConfig(root);
  const agent = agentOf(config, options.agent);
  if (options.table !== undefined && !config.catalog.tables.has(options.table)) throw new CliError(`unknown table "${options.table}"`);
  const set = await loadMaskingRules(root, config, throwawayKeys());
  const texts = purposesOf(agent, options.purpose).map((purpose) => formatExplanation(explainView(config, set, agent, purpose, options.table)));
  stdout().write(`${texts.join('\n\n')}\n`);
}

async function kAnonymity(options: ExplainOptions): Promise<void> {
  await withContext('rules explain --k-anonymity', async ({ root, config, secrets, db, where }) => {
    const agent = agentOf(config, options.agent);
    const keys = createMaskingKeys(secrets.maskingKey, secrets.maskingKeyId);
    const { decide, version } = deciderFor(await loadMaskingRules(root, config, keys), keys);
    const threshold = config.catalog.kAnonymityThreshold ?? DEFAULT_K_THRESHOLD;
    stdout().write(
      `k-anonymity on ${where}, threshold ${threshold}${config.catalog.kAnonymityThreshold === undefined ? ' (default; set kAnonymityThreshold in schema/catalog.yaml)' : ''}\n`,
    );
    let below = 0;
    for (const purpose of purposesOf(agent, options.purpose)) {
      const view = buildView(config, agent, purpose, decide, version);
      const results = (await measureKAnonymity(db, config, view)).filter((r) => options.table === undefined || r.table === options.table);
      stdout().write(`\n${agent.id} acting for ${purpose}\n`);
      if (results.length === 0) stdout().write('  the view shows no quasi-identifier in row access\n');
      for (const r of results) {
        const qis = r.quasiIdentifiers.map((q) => `${q.field} (${q.shows})`).join(', ');
        stdout().write(
          `  ${r.table}: quasi-identifiers ${qis}; ${r.rows} rows in ${r.groups} groups (computed in ${r.method === 'sql' ? 'SQL' : 'TypeScript'})\n`,
        );
        if (r.k === null) {
          stdout().write('    no rows visible\n');
          continue;
        }
        const low = r.k < threshold;
        if (low) below++;
        stdout().write(`    ${low ? 'WARNING: ' : ''}k = ${r.k}${low ? ` is below ${threshold}` : ''}; smallest group: ${JSON.stringify(r.smallestGroup)}\n`);
      }
    }
    if (below > 0)
      stdout().write(
        `\n${below} table(s) below the threshold: generalise a quasi-identifier further (e.g. keep fewer postal code characters) or drop one from the policy\n`,
      );
  });
}

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('Check, test and explain the masking rules in masking-rules/');
  rules
    .command('check')
    .description(
      'Validate schema/ and masking-rules/ together and lint them across files (fields no rule covers, views whose answers the rule sets refuse); list every finding (file:line: field: problem, and a fix) and exit 1 on any error',
    )
    .option('--json', 'print the findings as JSON')
    .option(...BROKER_URL_OPTION)
    .addHelpText(
      'after',
      '\nWith a broker running, also says whether the files on disk differ from the rules version it serves, and the problems it has pending on disk.',
    )
    .action(check);
  rules.command(LOADED_FILES_COMMAND[1], { hidden: true }).requiredOption('--version <id>').action(loadedFiles);
  rules
    .command('schemas')
    .description('Write schema/json-schema/*.json, the JSON Schema of each kind of YAML file, from the schemas the broker loads them with')
    .action(schemas);
  rules.command('test').description(`Run the fixtures in ${FIXTURES_DIR}/*.yaml (request, input row, expected masked row); exit 1 if any fails`).action(test);
  rules
    .command('explain')
    .description("Show, per field of an agent's view, whether it is hidden, clear or masked, by which rule and why that rule won")
    .requiredOption('--agent <id>', 'the agent whose view to explain')
    .option('--purpose <purpose>', 'one of its purposes (default: each of them)')
    .option('--table <table>', 'only this table')
    .option(
      '--k-anonymity',
      "measure on the database the smallest group sharing the view's masked quasi-identifiers; warn below the catalog's kAnonymityThreshold",
    )
    .action(explain);
}
