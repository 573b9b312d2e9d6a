import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { type AgentDefinition, ConfigError, formatIssue, loadProjectConfig, type ProjectConfig, projectRoot } from '../config/index.ts';
import { createMaskingKeys, deciderFor, loadMaskingRules, type MaskingKeys } from '../masking/index.ts';
import { explainView, formatExplanation } from '../masking/rules/explain.ts';
import { fixtureKeys, FIXTURES_DIR, readFixtureSources, runFixtures } from '../masking/rules/fixtures.ts';
import { DEFAULT_K_THRESHOLD, measureKAnonymity } from '../masking/rules/k-anonymity.ts';
import { buildView } from '../policy/index.ts';
import { CliError, withContext } from './context.ts';
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

async function check(): Promise<void> {
  const root = projectRoot();
  const config = await loadProjectConfig(root);
  let set: Awaited<ReturnType<typeof loadMaskingRules>>;
  try {
    set = await loadMaskingRules(root, config, throwawayKeys());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr().write(`${error.issues.length} error(s) in masking rules:\n${error.issues.map(formatIssue).join('\n')}\n`);
    process.exitCode = 1;
    return;
  }
  for (const warning of set.warnings) stderr().write(`warning: ${formatIssue(warning)}\n`);
  stdout().write(
    `ok: schema/ (catalog, agents, policies) and ${set.rules.length} masking rule(s) in ${set.files.length} file(s) are valid; ${set.warnings.length} warning(s); version ${set.version}\n`,
  );
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
    .description('Validate schema/ and masking-rules/ together; list every error (file:line: field: problem) and exit 1 if any')
    .action(check);
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
