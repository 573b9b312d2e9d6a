import { type BaselineState, countInWindow, learnRequest, learnWindow, newWindow, requestSummaries, type WindowTotals, windowStartOf } from './baseline.ts';
import type { RequestObservation } from './observations.ts';
import type { AnomalyPolicy } from './policy.ts';
import { type Finding, scoreRequest, scoreWindow } from './scoring.ts';

/** One audit record of an agent under one purpose, in log order. */
export interface PairRecord {
  seq: number;
  requestId: string;
  observation: RequestObservation;
  /** The recorded pseudonyms of the data subjects it returned. */
  subjects: readonly string[];
}

/** What an agent and purpose are evaluated under. */
export interface PairContext {
  policy: AnomalyPolicy;
  windowMs: number;
  /** Fields answered before (updated in place as new ones are seen). */
  fields: Set<string>;
  /** The agent is quarantined: its requests are counted, neither scored nor learned. */
  quarantined: boolean;
  /** Anomalies of this agent and purpose still open: nothing is learned until an officer clears them. */
  openAnomalies: number;
}

/** A finding with where it was found: the record (per-request statistics) or the window. */
export interface LocatedFinding extends Finding {
  seq: number | null;
  requestId: string | null;
  windowStart: number | null;
}

/** The first half of a pair's evaluation: every record counted, scored and learned; windows still lack their subjects. */
export interface PairObservation {
  findings: LocatedFinding[];
  newFields: Array<{ field: string; seq: number; at: Date }>;
  /** Windows the records fell in, oldest first; the last is the baseline's window under way. */
  windows: WindowTotals[];
  /** Subjects returned per window (by start), to be counted distinct in PostgreSQL. */
  subjects: Map<number, Set<string>>;
}

/**
 * Counts each record in its window (a record drafted before the window under way began, committed late, counts in
 * the window under way), scores answered requests, learns from them while the agent is in good standing, and
 * notes fields answered for the first time. Updates `state` and `context.fields` in place.
 */
export function observePair(state: BaselineState, records: readonly PairRecord[], context: PairContext): PairObservation {
  const out: PairObservation = { findings: [], newFields: [], windows: [], subjects: new Map() };
  let learning = !context.quarantined && context.openAnomalies === 0;
  // Sorting the recent values is most of a round's work (70 µs for the four lists): a round's records are scored
  // against the baseline as the round found it, a few requests out of 256 older than exact.
  let summaries: ReturnType<typeof requestSummaries> | null = null;
  for (const record of records) {
    const { observation } = record;
    const start = Math.max(windowStartOf(observation.at, context.windowMs), state.current?.start ?? -Infinity);
    if (state.current?.start !== start) {
      if (state.current && !out.windows.includes(state.current)) out.windows.push(state.current);
      state.current = newWindow(start);
    }
    const window = state.current;
    if (!out.windows.includes(window)) out.windows.push(window);
    countInWindow(window, observation);
    if (record.subjects.length > 0) {
      const seen = out.subjects.get(start) ?? new Set();
      for (const subject of record.subjects) seen.add(subject);
      out.subjects.set(start, seen);
    }
    if (context.quarantined || !learning) window.tainted = true;
    if (context.quarantined || !observation.allowed) continue;
    summaries ??= requestSummaries(state);
    const baseline = { ...state, summaries, fields: context.fields };
    const findings = scoreRequest(baseline, observation, context.policy).filter((f) => f.kind !== 'unusual_hour' || !window.raised.includes(f.statistic));
    for (const field of observation.fields) {
      if (context.fields.has(field)) continue;
      context.fields.add(field);
      out.newFields.push({ field, seq: record.seq, at: observation.at });
    }
    if (findings.length > 0) {
      out.findings.push(
        ...findings.map((f) => ({ ...f, seq: record.seq, requestId: record.requestId, windowStart: f.kind === 'unusual_hour' ? start : null })),
      );
      window.raised.push(...findings.filter((f) => f.kind === 'unusual_hour').map((f) => f.statistic));
      window.tainted = true;
      learning = false;
    } else if (learning) {
      learnRequest(state, observation);
    }
  }
  return out;
}

/**
 * The second half: each window gets its distinct subjects (`newSubjects`: those not counted in it before), is scored
 * against the learned windows (unless the agent is quarantined: its refusals are the quarantine's doing), and a window
 * that has ended is learned unless something anomalous happened in it.
 */
export function finishPair(
  state: BaselineState,
  observed: PairObservation,
  newSubjects: ReadonlyMap<number, number>,
  context: Pick<PairContext, 'policy' | 'quarantined'>,
): LocatedFinding[] {
  const findings: LocatedFinding[] = [];
  for (const window of observed.windows) {
    window.subjects += newSubjects.get(window.start) ?? 0;
    const found = context.quarantined ? [] : scoreWindow(state, window, context.policy);
    if (found.length > 0) {
      window.raised.push(...found.map((f) => f.statistic));
      window.tainted = true;
      findings.push(...found.map((f) => ({ ...f, seq: null, requestId: null, windowStart: window.start })));
    }
    if (window !== state.current) learnWindow(state, window);
  }
  return findings;
}
