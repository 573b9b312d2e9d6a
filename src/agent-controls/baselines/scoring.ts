import type { AnomalyStatistic } from '../../config/index.ts';
import { type BaselineState, RECENT_REQUESTS, type WindowTotals, windowValues } from './baseline.ts';
import { REQUEST_STATISTICS, type RequestObservation, type RequestStatistic, SPREAD_FLOORS, WINDOW_STATISTICS } from './observations.ts';
import type { AnomalyPolicy } from './policy.ts';
import { type RobustSummary, robustSummary, robustZ, spreadOf, valueLimit } from './robust.ts';

export type AnomalyKind = 'request' | 'window' | 'new_field' | 'unusual_hour';
export type FindingStatistic = AnomalyStatistic | 'newField' | 'unusualHour';

/** One statistic found far outside an agent's baseline: what becomes an anomaly. */
export interface Finding {
  kind: AnomalyKind;
  statistic: FindingStatistic;
  /** The request's or window's value (for a new field: how often the agent read it before, 0; for an hour: its share). */
  value: number;
  /** The value beyond which it is an anomaly, in the statistic's unit; null for a new field. */
  threshold: number | null;
  /** Its robust z-score, for the statistics that have one. */
  score: number | null;
  /** What it was compared with. */
  baseline: { median: number; mad: number; spread: number; observations: number; zThreshold: number } | null;
  /** The new field (`table.field`), or the hour of day (UTC). */
  detail: string | null;
}

/** What scoring a request needs of a baseline: summaries, not the values, so a broker can hold it for every agent. */
export interface RequestBaseline {
  observations: number;
  firstObservedAt: number | null;
  summaries: Readonly<Record<RequestStatistic, RobustSummary>>;
  fields: ReadonlySet<string>;
  hours: readonly number[];
}

const DAY_MS = 86_400_000;

function scored(kind: AnomalyKind, statistic: AnomalyStatistic, value: number, summary: RobustSummary, zThreshold: number | null): Finding | null {
  if (zThreshold === null) return null;
  const floor = SPREAD_FLOORS[statistic];
  const score = robustZ(value, summary, floor);
  if (!(score > zThreshold)) return null;
  return {
    kind,
    statistic,
    value,
    threshold: valueLimit(summary, floor, zThreshold),
    score,
    baseline: { median: summary.median, mad: summary.mad, spread: spreadOf(summary, floor), observations: summary.n, zThreshold },
    detail: null,
  };
}

/**
 * Cold start: nothing about a request is scored before the agent has `minObservations` answered requests learned
 * under this purpose. After it, each per-request statistic scores against the last requests' median and MAD, each
 * field it returns must have been returned to it before, and (once the learned requests span `minDays`) its hour of
 * day must not be one it is (almost) never active in.
 */
export function scoreRequest(baseline: RequestBaseline, observation: RequestObservation, policy: AnomalyPolicy): Finding[] {
  if (!observation.allowed || baseline.observations < policy.minObservations) return [];
  const findings: Finding[] = [];
  for (const statistic of REQUEST_STATISTICS) {
    const value = observation.values[statistic];
    const summary = baseline.summaries[statistic];
    // ε is not in every request: a statistic scores once it has its own cold start's worth of values (or a full list).
    if (value === undefined || summary.n < Math.min(policy.minObservations, RECENT_REQUESTS)) continue;
    const finding = scored('request', statistic, value, summary, policy.thresholds[statistic]);
    if (finding) findings.push(finding);
  }
  if (policy.newFields) {
    for (const field of new Set(observation.fields)) {
      if (!baseline.fields.has(field))
        findings.push({ kind: 'new_field', statistic: 'newField', value: 0, threshold: null, score: null, baseline: null, detail: field });
    }
  }
  const hours = policy.unusualHours;
  const since = baseline.firstObservedAt;
  if (hours && since !== null && observation.at.getTime() - since >= hours.minDays * DAY_MS) {
    const hour = observation.at.getUTCHours();
    const share = baseline.hours[hour]! / baseline.hours.reduce((sum, n) => sum + n, 0);
    if (share <= hours.maxShare) {
      findings.push({
        kind: 'unusual_hour',
        statistic: 'unusualHour',
        value: share,
        threshold: hours.maxShare,
        score: null,
        baseline: null,
        detail: `${hour}:00 UTC`,
      });
    }
  }
  return findings;
}

/**
 * A window (finished or under way) against the agent's learned windows, once there are `minWindows` of them. Only
 * windows with activity are learned: an agent idle at night is compared with its working hours, not with zero.
 * A window under way only grows, so one that is already past the threshold is an anomaly before it ends.
 */
export function scoreWindow(state: Pick<BaselineState, 'windows' | 'windowsLearned'>, totals: WindowTotals, policy: AnomalyPolicy): Finding[] {
  if (state.windowsLearned < policy.minWindows) return [];
  const values = windowValues(totals);
  return WINDOW_STATISTICS.filter((statistic) => !totals.raised.includes(statistic)).flatMap((statistic) => {
    const finding = scored('window', statistic, values[statistic], robustSummary(state.windows[statistic]), policy.thresholds[statistic]);
    return finding ? [finding] : [];
  });
}
