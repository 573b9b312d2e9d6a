import type { PrivacyCost } from './accountant.ts';
import { type AggregatePlan, outputKey } from './aggregate-plan.ts';
import { type AggregateRow, QUANTILE_BINS } from './aggregate-sql.ts';
import { type IntegerMeasurement, makeDiscreteGaussian, makeDiscreteLaplace } from './mechanisms.ts';
import { makePartitionSelection } from './partition-selection.ts';
import { makeQuantile } from './quantile.ts';

export interface NoisyValue {
  value: number | null;
  low: number | null;
  high: number | null;
  confidence: number;
  /** Quantiles only: with probability `confidence` the estimate's bin is within this many ranks of the target rank. */
  rankError: number | null;
}

export interface ReleasedGroup {
  key: Record<string, string | null>;
  values: Record<string, NoisyValue>;
}

export interface AggregateRelease {
  groups: ReleasedGroup[];
  costs: PrivacyCost[];
}

const CONFIDENCE = 0.95;
/** Each of avg's two intervals at √0.95… is conservative; 0.975 each gives ≥ 95% jointly by the union bound. */
const AVG_PART_CONFIDENCE = 0.975;
const MAX_PUBLIC_GROUPS = 10_000;

function product(domains: ReadonlyArray<readonly string[]>): string[][] {
  return domains.reduce<string[][]>((acc, domain) => acc.flatMap((prefix) => domain.map((value) => [...prefix, value])), [[]]);
}

interface Measurement {
  mechanism: IntegerMeasurement<PrivacyCost>;
  cost: PrivacyCost;
}

function integerMeasurement(plan: AggregatePlan, sensitivity: bigint): Measurement {
  const mechanism =
    plan.share.rho !== null ? makeDiscreteGaussian({ sensitivity, rho: plan.share.rho }) : makeDiscreteLaplace({ sensitivity, epsilon: plan.share.epsilon });
  return { mechanism, cost: mechanism.cost };
}

const asNumber = (units: bigint, scale: number) => Number(units) / scale;

/**
 * Adds noise to the bounded aggregates. Sensitivities come only from the contribution bound k and the
 * catalog's bounds, never from the data: a subject's k rows move the count vector by at most k (L1 and L2)
 * and each sum by at most k·max(|lower|, |upper|).
 */
export function releaseAggregate(plan: AggregatePlan, rows: readonly AggregateRow[], domains: ReadonlyArray<readonly string[] | undefined>): AggregateRelease {
  const table = plan.viewTable.table;
  const k = BigInt(plan.rowsPerSubject);
  const costs: PrivacyCost[] = [];
  const partition = plan.publicGroups
    ? null
    : makePartitionSelection({ maxRowsPerSubject: plan.rowsPerSubject, epsilon: plan.share.epsilon, delta: plan.share.partitionDelta });
  const count = partition ? null : integerMeasurement(plan, k);
  if (partition) costs.push(partition.cost);
  else if (plan.primitives.some((p) => p.op === 'count')) costs.push(count!.cost);

  const sums = new Map<string, Measurement & { scale: number }>();
  const quantiles = new Map<string, ReturnType<typeof makeQuantile>>();
  for (const primitive of plan.primitives) {
    if (primitive.op === 'sum') {
      const column = table.columns.get(primitive.field)!;
      const scale = 10 ** (column.precision ?? 0);
      const [lower, upper] = column.bounds!;
      const measurement = integerMeasurement(plan, k * BigInt(Math.round(Math.max(Math.abs(lower), Math.abs(upper)) * scale)));
      sums.set(primitive.field, { ...measurement, scale });
      costs.push(measurement.cost);
    } else if (primitive.op === 'quantile') {
      const [lower, upper] = table.columns.get(primitive.field)!.bounds!;
      const mechanism = makeQuantile({
        lower,
        upper,
        bins: QUANTILE_BINS,
        quantile: primitive.q,
        epsilon: plan.share.epsilon,
        maxContributionsPerSubject: plan.rowsPerSubject,
        confidence: CONFIDENCE,
      });
      quantiles.set(outputKey(primitive), mechanism);
      costs.push(mechanism.cost);
    }
  }

  const byKey = new Map(rows.map((row) => [JSON.stringify(row.keys), row]));
  const candidates: AggregateRow[] = [];
  if (plan.publicGroups) {
    const keyLists = product(domains.map((d) => d!));
    if (keyLists.length > MAX_PUBLIC_GROUPS) throw new Error(`grouping yields ${keyLists.length} groups; at most ${MAX_PUBLIC_GROUPS}`);
    for (const keys of keyLists) {
      candidates.push(byKey.get(JSON.stringify(keys)) ?? { keys, count: 0n, sums: new Map(), histograms: new Map() });
    }
  } else candidates.push(...rows);

  const groups: ReleasedGroup[] = [];
  for (const row of candidates) {
    let noisyCount: bigint | null = null;
    if (partition) {
      const decision = partition.select(row.count);
      if (!decision.keep) continue;
      noisyCount = decision.noisyCount;
    } else if (count && plan.primitives.some((p) => p.op === 'count')) {
      noisyCount = count.mechanism.release(row.count);
    }
    // A released group's count is conditioned on having cleared the threshold; partition.interval accounts for it.
    const countInterval = (confidence: number) =>
      partition ? partition.interval(noisyCount!, confidence) : count!.mechanism.interval(noisyCount!, confidence);
    const noisySums = new Map<string, bigint>();
    for (const [field, sum] of sums) noisySums.set(field, sum.mechanism.release(row.sums.get(field) ?? 0n));
    const values: Record<string, NoisyValue> = {};
    for (const output of plan.outputs) {
      values[outputKey(output)] = releaseOutput(output);
    }
    groups.push({ key: Object.fromEntries(plan.groupBy.map((g, i) => [g, row.keys[i] ?? null])), values });

    function releaseOutput(output: (typeof plan.outputs)[number]): NoisyValue {
      switch (output.op) {
        case 'count': {
          const interval = countInterval(CONFIDENCE);
          return {
            value: Math.max(0, Number(noisyCount)),
            low: Math.max(0, Number(interval.lower)),
            high: Math.max(0, Number(interval.upper)),
            confidence: CONFIDENCE,
            rankError: null,
          };
        }
        case 'sum': {
          const sum = sums.get(output.field)!;
          const interval = sum.mechanism.interval(noisySums.get(output.field)!, CONFIDENCE);
          return {
            value: asNumber(noisySums.get(output.field)!, sum.scale),
            low: asNumber(interval.lower, sum.scale),
            high: asNumber(interval.upper, sum.scale),
            confidence: CONFIDENCE,
            rankError: null,
          };
        }
        case 'avg': {
          const sum = sums.get(output.field)!;
          const [lower, upper] = table.columns.get(output.field)!.bounds!;
          const clamp = (x: number) => Math.min(upper, Math.max(lower, x));
          const n = Number(noisyCount!);
          const s = asNumber(noisySums.get(output.field)!, sum.scale);
          const counts = countInterval(AVG_PART_CONFIDENCE);
          const sumInterval = sum.mechanism.interval(noisySums.get(output.field)!, AVG_PART_CONFIDENCE);
          const cLow = Math.max(1, Number(counts.lower));
          const cHigh = Math.max(1, Number(counts.upper));
          const sLow = asNumber(sumInterval.lower, sum.scale);
          const sHigh = asNumber(sumInterval.upper, sum.scale);
          const ratios = [sLow / cLow, sLow / cHigh, sHigh / cLow, sHigh / cHigh];
          return {
            value: clamp(s / Math.max(1, n)),
            low: clamp(Math.min(...ratios)),
            high: clamp(Math.max(...ratios)),
            confidence: CONFIDENCE,
            rankError: null,
          };
        }
        case 'quantile': {
          const mechanism = quantiles.get(outputKey(output))!;
          const released = mechanism.release(row.histograms.get(output.field) ?? new Array<number>(QUANTILE_BINS).fill(0));
          return { value: released.value, low: released.low, high: released.high, confidence: CONFIDENCE, rankError: mechanism.rankError };
        }
      }
    }
  }
  return { groups, costs };
}
