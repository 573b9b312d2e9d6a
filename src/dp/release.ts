import type { PrivacyCost } from './accountant.ts';
import { type AggregatePlan, type MeasuredPrimitive, outputKey } from './aggregate-plan.ts';
import type { AggregateRow } from './aggregate-sql.ts';
import { aggregateOf, type GroupPrimitives, type NoisyStatistic, type NoisyValue } from './aggregates.ts';
import { chain, makeBoundedCount } from './bounding.ts';
import { makePartitionSelection } from './partition-selection.ts';
import { integerMeasurement, type Measurement, measurePrimitive } from './primitives.ts';

export type { NoisyValue } from './aggregates.ts';

export interface ReleasedGroup {
  key: Record<string, string | null>;
  values: Record<string, NoisyValue>;
}

export interface AggregateRelease {
  groups: ReleasedGroup[];
  costs: PrivacyCost[];
}

const MAX_PUBLIC_GROUPS = 10_000;

function product(domains: ReadonlyArray<readonly string[]>): string[][] {
  return domains.reduce<string[][]>((acc, domain) => acc.flatMap((prefix) => domain.map((value) => [...prefix, value])), [[]]);
}

/**
 * Adds noise to the bounded aggregates: each primitive once per group (outputs that share one share its noise),
 * then each output from its registry entry. Sensitivities come only from the contribution bound k and the
 * catalog's bounds, never from the data (bounding.ts).
 */
export function releaseAggregate(plan: AggregatePlan, rows: readonly AggregateRow[], domains: ReadonlyArray<readonly string[] | undefined>): AggregateRelease {
  const table = plan.viewTable.table;
  const costs: PrivacyCost[] = [];
  const counted = plan.primitives.some((p) => p.op === 'count');
  const partition = plan.publicGroups
    ? null
    : makePartitionSelection({ maxRowsPerSubject: plan.rowsPerSubject, epsilon: plan.share.epsilon, delta: plan.share.partitionDelta });
  const count = partition ? null : chain(makeBoundedCount({ k: plan.rowsPerSubject }), (sensitivity) => integerMeasurement(plan, sensitivity));
  if (partition) costs.push(partition.cost);
  else if (counted) costs.push(count!.cost);
  const measured = plan.primitives
    .filter((p): p is MeasuredPrimitive => p.op !== 'count')
    .map((primitive): [string, Measurement<MeasuredPrimitive>] => [outputKey(primitive), measurePrimitive(primitive, plan)]);
  for (const [, measurement] of measured) costs.push(measurement.cost);

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
    let noisyCount: NoisyStatistic | null = null;
    if (partition) {
      const decision = partition.select(row.count);
      if (!decision.keep) continue;
      // A released group's count is conditioned on having cleared the threshold; partition.interval accounts for it.
      noisyCount = countStatistic(decision.noisyCount, (confidence) => partition.interval(decision.noisyCount, confidence));
    } else if (counted) {
      const noisy = count!.release(row.count);
      noisyCount = countStatistic(noisy, (confidence) => count!.interval(noisy, confidence));
    }
    const released = new Map<string, unknown>(measured.map(([key, measurement]) => [key, measurement.release(row)]));
    if (noisyCount) released.set('count', noisyCount);
    const primitives: GroupPrimitives = {
      released: (primitive) => released.get(outputKey(primitive)) as never,
      column: (field) => table.columns.get(field)!,
      rowsPerSubject: plan.rowsPerSubject,
    };
    const values: Record<string, NoisyValue> = {};
    for (const output of plan.outputs) values[outputKey(output)] = aggregateOf(output).release(output, primitives);
    groups.push({ key: Object.fromEntries(plan.groupBy.map((g, i) => [g, row.keys[i] ?? null])), values });
  }
  return { groups, costs };
}

function countStatistic(noisy: bigint, interval: (confidence: number) => { lower: bigint; upper: bigint }): NoisyStatistic {
  return {
    value: Number(noisy),
    interval(confidence) {
      const { lower, upper } = interval(confidence);
      return { low: Number(lower), high: Number(upper) };
    },
  };
}
