/** The masking stage's public surface: the function catalogue, the rule engine over `masking-rules/`, inference safety. */
export {
  compileMask,
  createMaskingKeys,
  getMaskFunction,
  maskFunctions,
  parseMaskParams,
  MaskingError,
  MaskingKeyError,
  MaskParamsError,
  MaskValueError,
  UnknownMaskFunctionError,
  type MaskValueType,
  type MaskContext,
  type MaskFn,
  type MaskFunctionSpec,
  type MaskingKeys,
} from './mask-functions.ts';
export { buildMaskingRules, loadMaskingRules, readRuleSources, RULES_DIR, type MaskingRuleSet } from './rules/load.ts';
export { createExposureDecider } from './rules/decider.ts';
export { deciderFor, loadMaskingStage, type MaskingStage, type VersionedDecider } from './rules/stage.ts';
export { maskedEqualityCondition } from './rules/equality-sql.ts';
export { resolveField, type FieldResolution, type Ranking } from './rules/resolve.ts';
export { describeMask, describeSpecificity, type MaskingRule } from './rules/model.ts';
export { applyExposure } from './rules/apply.ts';
