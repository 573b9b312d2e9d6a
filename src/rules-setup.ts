import { join } from 'node:path';
import { type JurisdictionRules, loadJurisdictionRules } from './compliance/index.ts';
import { type BrokerSecrets, loadProjectConfig, type ProjectConfig } from './config/index.ts';
import { readRulesSnapshot, type RulesSnapshot } from './config/rules-versions.ts';
import { loadMaskingStage, type MaskingStage } from './masking/index.ts';

/**
 * What the files of schema/ and masking-rules/ decide, loaded and checked across files: at a start, and again on
 * every reload, the same way.
 */
export interface RulesSetup {
  config: ProjectConfig;
  masking: MaskingStage;
  jurisdictions: JurisdictionRules;
  /** The files as read for this load: the rules version it becomes. */
  rules: RulesSnapshot;
}

/** The files and the project config: the part of a load that needs no secret (a start reads it before its keys). */
export async function readRulesFiles(root: string, env: NodeJS.ProcessEnv): Promise<Pick<RulesSetup, 'config' | 'rules'>> {
  const rules = await readRulesSnapshot(root);
  const config = await loadProjectConfig(root, env);
  return { config, rules };
}

/** The rest of a load: the masking rules (keyed by the broker's secret) and the jurisdiction rule sets. */
export async function completeRulesSetup(root: string, read: Pick<RulesSetup, 'config' | 'rules'>, secrets: BrokerSecrets): Promise<RulesSetup> {
  const masking = await loadMaskingStage(root, read.config, secrets);
  const jurisdictions = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
  return { ...read, masking, jurisdictions };
}

export async function loadRulesSetup(root: string, secrets: BrokerSecrets, env: NodeJS.ProcessEnv): Promise<RulesSetup> {
  return completeRulesSetup(root, await readRulesFiles(root, env), secrets);
}
