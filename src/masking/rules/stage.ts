/** The masking stage as the broker starts it: keys from the broker's secret, the rules in force, a decider. */
import type { BrokerSecrets, ProjectConfig } from '../../config/index.ts';
import { type ExposureDecider, failClosedExposure } from '../../policy/index.ts';
import { createMaskingKeys, type MaskingKeys } from '../mask-functions.ts';
import { createExposureDecider } from './decider.ts';
import { loadMaskingRules, type MaskingRuleSet } from './load.ts';

export interface VersionedDecider {
  decide: ExposureDecider;
  version: string;
}

/** An empty rules directory keeps the fail-closed default: sensitive fields hidden, the rest clear. */
export function deciderFor(set: MaskingRuleSet, keys: MaskingKeys): VersionedDecider {
  if (set.rules.length === 0) return { decide: failClosedExposure, version: 'no-rules' };
  return { decide: createExposureDecider(set, keys), version: set.version };
}

export interface MaskingStage {
  keys: MaskingKeys;
  rules: MaskingRuleSet;
  decider: VersionedDecider;
}

/** Loads `masking-rules/` for a broker; an invalid set refuses the start (ConfigError listing every problem). */
export async function loadMaskingStage(root: string, config: ProjectConfig, secrets: BrokerSecrets): Promise<MaskingStage> {
  const keys = createMaskingKeys(secrets.maskingKey, secrets.maskingKeyId);
  const rules = await loadMaskingRules(root, config, keys);
  return { keys, rules, decider: deciderFor(rules, keys) };
}
