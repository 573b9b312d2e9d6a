/**
 * KEYHOLE_START_ON_LAST_VALID_RULES=1: a broker whose schema/ or masking-rules/ files on disk are invalid starts on
 * the rules version brokers last put in force (rules_versions) instead of refusing, and says so loudly: an error in
 * the log and the problems on /readyz until the files are fixed and the broker restarted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readRulesVersionInForce } from './audit/rules-versions.ts';
import { type BrokerSetup, loadBrokerSetup } from './broker.ts';
import { type ConfigError, formatIssue } from './config/index.ts';
import { RULES_VERSION_DIRS } from './config/rules-versions.ts';
import type { Log } from './log.ts';
import { type Db, migrate } from './sql/index.ts';

export function startsOnLastValidRules(env: NodeJS.ProcessEnv): boolean {
  return env.KEYHOLE_START_ON_LAST_VALID_RULES === '1';
}

/** A stored path stays inside the rules directories when written out, whatever the database holds. */
function isRulesPath(path: string): boolean {
  const [dir, ...rest] = path.split('/');
  return RULES_VERSION_DIRS.some((d) => d === dir) && rest.length > 0 && rest.every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * The setup of the last valid rules version, from its files written under the data directory; `invalid` again when
 * none is stored (nothing to fall back on).
 */
export async function lastValidRulesSetup(
  db: Db,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  invalid: ConfigError,
  log: Log,
): Promise<{ root: string; setup: BrokerSetup }> {
  await migrate(db);
  const version = await readRulesVersionInForce(db);
  if (!version) throw invalid;
  const root = join(dataDir, 'rules-last-valid', String(version.id));
  for (const [path, text] of Object.entries(version.files)) {
    if (!isRulesPath(path)) throw new Error(`rules version ${version.id} holds a file outside schema/ and masking-rules/: ${JSON.stringify(path)}`);
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const setup = await loadBrokerSetup(root, dataDir, env);
  log({
    level: 'error',
    msg: `the rules files on disk are invalid: serving the last valid rules version ${version.id} (in force since ${version.inForceAt.toISOString()}) until they are fixed and the broker restarted`,
    rulesVersion: version.id,
    problems: invalid.issues.map(formatIssue),
  });
  return { root, setup };
}
