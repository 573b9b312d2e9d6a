/**
 * Robust location and spread of a baseline: the median and the median absolute deviation (MAD). Unlike a mean and a
 * standard deviation, a few extreme values in the baseline move neither, so one odd request cannot widen what
 * counts as normal enough to hide the next one.
 */

/** MAD × this estimates the standard deviation of normally distributed values, so z-scores read as usual. */
export const MAD_TO_SIGMA = 1.4826;

/**
 * The MAD never counts as less than this share of the median: an agent whose every request returns exactly 20 rows
 * has a MAD of 0, and without a floor 21 rows would be infinitely far out.
 */
export const RELATIVE_SPREAD_FLOOR = 0.1;

export interface RobustSummary {
  median: number;
  mad: number;
  /** How many values it summarises. */
  n: number;
}

function medianOfSorted(sorted: readonly number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median and MAD of `values`; both 0 for no values (which are never scored: see the cold-start rules). */
export function robustSummary(values: readonly number[]): RobustSummary {
  if (values.length === 0) return { median: 0, mad: 0, n: 0 };
  const median = medianOfSorted([...values].sort((a, b) => a - b));
  const mad = medianOfSorted(values.map((value) => Math.abs(value - median)).sort((a, b) => a - b));
  return { median, mad, n: values.length };
}

/** The spread a score divides by: the MAD, but at least `floor` (the statistic's unit) and RELATIVE_SPREAD_FLOOR of the median. */
export function spreadOf(summary: RobustSummary, floor: number): number {
  return Math.max(summary.mad, floor, RELATIVE_SPREAD_FLOOR * Math.abs(summary.median));
}

/** How many (robust) standard deviations `value` lies above the median; negative below it. */
export function robustZ(value: number, summary: RobustSummary, floor: number): number {
  return (value - summary.median) / (MAD_TO_SIGMA * spreadOf(summary, floor));
}

/** The smallest value scoring above `z`: what an officer reads as the threshold in the statistic's own unit. */
export function valueLimit(summary: RobustSummary, floor: number, z: number): number {
  return summary.median + z * MAD_TO_SIGMA * spreadOf(summary, floor);
}
