import { REQUEST_STATISTICS, type RequestObservation, type RequestStatistic, WINDOW_STATISTICS, type WindowStatistic } from './observations.ts';
import { type RobustSummary, robustSummary } from './robust.ts';

/** Per-request values kept per statistic: the median and MAD of an agent's last this many requests. */
export const RECENT_REQUESTS = 256;
/** Windows kept per statistic: a week of hours. */
export const RECENT_WINDOWS = 168;

/** What an agent did under one purpose in one window, as it accumulates. */
export interface WindowTotals {
  /** Milliseconds since the epoch, a multiple of the window length. */
  start: number;
  requests: number;
  rows: number;
  /** Distinct data subjects (counted in PostgreSQL: agent_window_subjects). */
  subjects: number;
  refusals: number;
  maskedFilterAttempts: number;
  epsilon: number;
  /** An anomaly was raised or open, or the agent quarantined, during it: such a window is never learned. */
  tainted: boolean;
  /** Statistics that have raised an anomaly in this window already: each raises at most once per window. */
  raised: string[];
}

/**
 * One agent's baseline under one purpose, as agent_baselines keeps it (jsonb): recent per-request values, totals of
 * recent windows with activity, requests per hour of day, and the window under way.
 */
export interface BaselineState {
  /** Requests learned so far (the cold start counts these). */
  observations: number;
  /** Windows learned so far. */
  windowsLearned: number;
  /** When the first learned request was made (ms): how many days the hours of activity span. */
  firstObservedAt: number | null;
  recent: Record<RequestStatistic, number[]>;
  windows: Record<WindowStatistic, number[]>;
  /** Learned requests per hour of day, UTC. */
  hours: number[];
  current: WindowTotals | null;
}

const emptyLists = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((key) => [key, [] as number[]])) as Record<K, number[]>;

export function emptyBaseline(): BaselineState {
  return {
    observations: 0,
    windowsLearned: 0,
    firstObservedAt: null,
    recent: emptyLists(REQUEST_STATISTICS),
    windows: emptyLists(WINDOW_STATISTICS),
    hours: Array.from({ length: 24 }, () => 0),
    current: null,
  };
}

/** A stored baseline, with whatever a newer version of this code added filled in empty. */
export function restoreBaseline(stored: Partial<BaselineState> | null): BaselineState {
  const empty = emptyBaseline();
  if (!stored) return empty;
  return {
    ...empty,
    ...stored,
    recent: { ...empty.recent, ...stored.recent },
    windows: { ...empty.windows, ...stored.windows },
  };
}

function push(values: number[], value: number, keep: number): void {
  values.push(value);
  if (values.length > keep) values.splice(0, values.length - keep);
}

/** Adds an answered request to the baseline (in place). */
export function learnRequest(state: BaselineState, observation: RequestObservation): void {
  for (const statistic of REQUEST_STATISTICS) {
    const value = observation.values[statistic];
    if (value !== undefined) push(state.recent[statistic], value, RECENT_REQUESTS);
  }
  state.hours[observation.at.getUTCHours()]! += 1;
  state.observations += 1;
  state.firstObservedAt ??= observation.at.getTime();
}

export function windowValues(totals: WindowTotals): Record<WindowStatistic, number> {
  return {
    requestsPerWindow: totals.requests,
    rowsPerWindow: totals.rows,
    subjectsPerWindow: totals.subjects,
    denialsPerWindow: totals.refusals,
    maskedFilterAttemptsPerWindow: totals.maskedFilterAttempts,
    epsilonPerWindow: totals.epsilon,
  };
}

/** Adds a finished window to the baseline (in place), unless something anomalous happened in it. */
export function learnWindow(state: BaselineState, totals: WindowTotals): void {
  if (totals.tainted || totals.requests === 0) return;
  const values = windowValues(totals);
  for (const statistic of WINDOW_STATISTICS) push(state.windows[statistic], values[statistic], RECENT_WINDOWS);
  state.windowsLearned += 1;
}

export function newWindow(start: number): WindowTotals {
  return { start, requests: 0, rows: 0, subjects: 0, refusals: 0, maskedFilterAttempts: 0, epsilon: 0, tainted: false, raised: [] };
}

/** The start of the window holding `at`. */
export const windowStartOf = (at: Date, windowMs: number) => Math.floor(at.getTime() / windowMs) * windowMs;

/** Counts a request in its window's totals (its distinct subjects are counted apart). */
export function countInWindow(totals: WindowTotals, observation: RequestObservation): void {
  totals.requests += 1;
  if (observation.allowed) totals.rows += observation.values.rowsPerRequest ?? 0;
  if (observation.refused) totals.refusals += 1;
  if (observation.maskedFilterAttempt) totals.maskedFilterAttempts += 1;
  totals.epsilon += observation.values.epsilonPerRequest ?? 0;
}

/** Median and MAD of each per-request statistic: all that scoring a request needs of the recent values. */
export function requestSummaries(state: BaselineState): Record<RequestStatistic, RobustSummary> {
  return Object.fromEntries(REQUEST_STATISTICS.map((statistic) => [statistic, robustSummary(state.recent[statistic])])) as Record<
    RequestStatistic,
    RobustSummary
  >;
}
