export {
  type Anomaly,
  ANOMALY_STATUSES,
  AnomalyNotOpenError,
  clearAnomaly,
  clearQuarantine,
  listAnomalies,
  listQuarantines,
  type Quarantine,
  quarantineClearedRecord,
} from './anomalies.ts';
export { type Evaluation, evaluateNewRecords } from './evaluator.ts';
export { BaselineMonitor, baselineIntervalFrom, DEFAULT_BASELINE_INTERVAL_MS } from './monitor.ts';
export { type AnomalyPolicy, anomalyPolicyFor } from './policy.ts';
export { useBaselineGuard } from './use-baseline-guard.ts';
