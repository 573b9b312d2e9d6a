export { OUTCOMES, type Outcome, type RuleSet, type PurposeGate, ruleSetSchema } from './rule-schema.ts';
export { loadJurisdictionRules, indexRuleSets, type JurisdictionRules } from './rules.ts';
export {
  type CheckName,
  type CheckResult,
  type ComplianceAgent,
  type ComplianceRequest,
  type Finding,
  type RequestField,
  type TransferVolume,
  describeFields,
  isClearFor,
  worstOutcome,
} from './request.ts';
export { basesInForce, checkCrossBorderTransfer, isTransfer, transferDecision, type TransferDecision, withheldJurisdictions } from './transfer.ts';
export { checkSpecialCategories, sensitiveFields } from './special-categories.ts';
export { checkGovernmentIdentifiers } from './identifiers.ts';
export { checkPurposeLimitation } from './purpose.ts';
export { checkTransferVolumes, thresholdReached } from './volume.ts';
export { runComplianceChecks } from './evaluate.ts';
export {
  buildComplianceReport,
  type BudgetUse,
  type ComplianceReport,
  type FindingSummary,
  type ProcessingActivity,
  type Refusal,
  type ReportContext,
  type ReportQuery,
  type SpecialCategoryAccess,
  type TransferEntry,
  UnknownJurisdictionError,
} from './report.ts';
export { REPORT_FORMATS, type ReportFormat, renderCsv, renderHtml, renderJson, renderMarkdown, renderReport } from './render.ts';
export { denialCode, makeComplianceGate, type ComplianceGate } from './query-time.ts';
