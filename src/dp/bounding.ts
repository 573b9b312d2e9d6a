/**
 * The bounding stage as values, OpenDP style: a transformation that takes per-group statistics of rows whose
 * data subjects keep at most k rows each, with values clamped to declared bounds and scaled to integer units.
 * Each carries its SQL (evaluated in the one aggregating statement, see aggregate-sql.ts) and its stability
 * map: how far one data subject can move the statistic, in integer units, over all groups together (L1; the
 * same number bounds L2, since one subject's changes to the groups add up to at most it). `chain` hands that
 * sensitivity to a measurement (makeDiscreteLaplace, makeDiscreteGaussian), whose privacy map says what it costs.
 */
import { PrivacyParameterError } from './rational.ts';

export interface BoundedAggregate {
  /** The statistic over a group's kept rows, in SQL, given the clamped value's expression (count ignores it). */
  sql(value: string): string;
  /** The stability map at the contribution bound: the most one subject moves the statistic, in integer units. */
  readonly sensitivity: bigint;
  /** Integer units per unit of the statistic: the SQL's integer result divided by this is in the column's units. */
  readonly scale: number;
}

export interface BoundedColumn {
  /** k: the most rows one data subject keeps. */
  k: number;
  /** The catalog's [lower, upper] that values are clamped to. */
  bounds: readonly [number, number];
  /** Decimals kept: values are rounded to 10^-precision and counted in those units. */
  precision: number;
}

function rowsPerSubject(k: number): bigint {
  if (!Number.isSafeInteger(k) || k < 1) throw new PrivacyParameterError(`the contribution bound k must be a positive integer, got ${k}`);
  return BigInt(k);
}

/** Values in integer units: what `round(clamped · 10^precision)` gives, and the bounds in the same units. */
function units({ bounds: [lower, upper], precision }: BoundedColumn) {
  if (!(Number.isFinite(lower) && Number.isFinite(upper) && lower <= upper)) {
    throw new PrivacyParameterError(`bounds must be finite with lower ≤ upper, got [${lower}, ${upper}]`);
  }
  const scale = 10 ** precision;
  // As SQL's numeric round: halves away from zero.
  const toUnits = (x: number) => Math.sign(x) * Math.round(Math.abs(x) * scale);
  return { scale, value: (v: string) => `round(${v} * ${scale})`, lower: toUnits(lower), upper: toUnits(upper) };
}

/** Rows kept per group: one subject adds or removes at most k of them, across all groups. */
export function makeBoundedCount({ k }: Pick<BoundedColumn, 'k'>): BoundedAggregate {
  return { sql: () => 'count(*)', sensitivity: rowsPerSubject(k), scale: 1 };
}

/** Σ of the clamped values in units: one subject's k rows move it by at most k·max(|lower|, |upper|). */
export function makeBoundedSum(column: BoundedColumn): BoundedAggregate {
  const { scale, value } = units(column);
  const [lower, upper] = column.bounds;
  const largest = BigInt(Math.round(Math.max(Math.abs(lower), Math.abs(upper)) * scale));
  return { sql: (v) => `sum(${value(v)})`, sensitivity: rowsPerSubject(column.k) * largest, scale };
}

export interface BoundedSumOfSquares extends BoundedAggregate {
  /** c, the middle of the bounds in the column's units: the statistic is Σ(x - c)², in (units/2)². */
  readonly centre: number;
}

/**
 * Σ(x - c)² about the middle c of the bounds, so one row moves it by at most ((upper - lower)/2)² instead of
 * max(lower², upper²): with x and the bounds in integer units, 2x - (L + U) is an integer within ±(U - L), and
 * the SQL sums its square, so one subject's k rows move the sum by at most k·(U - L)². Divided by
 * 4·scale² it is Σ(x - c)² in the column's units (see `scale`).
 */
export function makeBoundedSumOfSquares(column: BoundedColumn): BoundedSumOfSquares {
  const { scale, value, lower, upper } = units(column);
  const width = BigInt(upper - lower);
  return {
    sql(v) {
      const offset = `(2 * ${value(v)} - ${lower + upper})`;
      return `sum(${offset} * ${offset})`;
    },
    sensitivity: rowsPerSubject(column.k) * width * width,
    scale: 4 * scale * scale,
    centre: (lower + upper) / (2 * scale),
  };
}

/** Transformation → measurement: the measurement calibrated to the bounded statistic's stability. */
export function chain<M>(bounded: BoundedAggregate, measure: (sensitivity: bigint) => M): M {
  return measure(bounded.sensitivity);
}
