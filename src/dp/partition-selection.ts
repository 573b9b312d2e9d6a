/**
 * Differentially private partition selection for GROUP BY on keys that are not public: a group is
 * released only if its noisy count clears a threshold τ, so a group that exists because of one data
 * subject shows up with probability at most δ (the approach of Wilson et al., "Differentially Private
 * SQL with Bounded User Contribution", PoPETs 2020, with exact discrete Laplace noise).
 *
 * Setting. Upstream SQL bounds every subject to at most k groups and one unit of count in each, so
 * adding or removing one subject moves the vector of group counts by at most k in L1 norm.
 *
 * Mechanism. For every group with count c ≥ 1: draw Z ~ discrete Laplace with scale b = k/ε, release
 * (group, c + Z) when c + Z ≥ τ, else nothing.
 *
 * Privacy, (ε, δ). Groups present in both neighbours: the counts are the discrete Laplace mechanism
 * with L1 sensitivity k, so ε-DP; dropping the ones below τ is post-processing. Groups only one
 * neighbour has were created by the one differing subject, so there are at most k of them and each has
 * count exactly 1 there. The release is ε-close unless one of those is kept, which happens with
 * probability at most k·P[1 + Z ≥ τ]; choosing τ so that this is ≤ δ gives (ε, δ)-DP.
 *
 * Threshold. With a = e^{-1/b} = e^{-ε/k}, P[Z = z] = (1-a)/(1+a)·a^{|z|}, so for m ≥ 0
 *   P[Z ≥ m] = Σ_{z ≥ m} (1-a)/(1+a)·a^z = a^m/(1+a).
 * Requiring k·P[Z ≥ τ - 1] = k·a^{τ-1}/(1+a) ≤ δ gives
 *   τ = 1 + max(0, ⌈(k/ε)·ln(k / (δ·(1+a)))⌉).
 */
import { makeDiscreteLaplace } from './mechanisms.ts';
import { PrivacyParameterError, positiveInteger, type Rational } from './rational.ts';

export interface PartitionSelectionParams {
  /** k: the most groups one data subject can count in (bounded upstream, in SQL). */
  readonly maxPartitionsPerSubject: number;
  readonly epsilon: number;
  readonly delta: number;
}

/** A group's count is released only when `keep`; a dropped group must leave no trace in the answer. */
export type PartitionDecision = { readonly keep: true; readonly noisyCount: bigint } | { readonly keep: false; readonly noisyCount: null };

export interface PartitionSelection {
  readonly threshold: bigint;
  /** The discrete Laplace scale k/ε, exactly. */
  readonly scale: Rational;
  readonly cost: { epsilon: number; delta: number };
  /** P[a group with this true count is released]. */
  releaseProbability(count: bigint | number): number;
  select(count: bigint | number): PartitionDecision;
}

export function makePartitionSelection(params: PartitionSelectionParams): PartitionSelection {
  const k = positiveInteger('maxPartitionsPerSubject', params.maxPartitionsPerSubject);
  const { delta } = params;
  if (!(delta > 0 && delta < 1)) throw new PrivacyParameterError(`delta must be in (0, 1), got ${delta}`);
  const counts = makeDiscreteLaplace({ sensitivity: k, epsilon: params.epsilon });
  const b = counts.noise.scale;
  const a = Math.exp(-1 / b);
  const atLeast = (m: number) => (m >= 0 ? Math.exp(-m / b) / (1 + a) : 1 - Math.exp((m - 1) / b) / (1 + a));
  const partitions = Number(k);
  let margin = Math.max(0, Math.ceil(b * Math.log(partitions / (delta * (1 + a)))));
  // The closed form is evaluated in floating point; step past any rounding at the boundary.
  while (partitions * atLeast(margin) > delta) margin += 1;
  const threshold = 1n + BigInt(margin);
  return {
    threshold,
    scale: counts.scale,
    cost: { epsilon: params.epsilon, delta },
    releaseProbability: (count) => atLeast(Number(threshold - BigInt(count))),
    select(count) {
      const noisyCount = counts.release(BigInt(count));
      return noisyCount >= threshold ? { keep: true, noisyCount } : { keep: false, noisyCount: null };
    },
  };
}

export function selectPartition(count: bigint | number, params: PartitionSelectionParams): PartitionDecision {
  return makePartitionSelection(params).select(count);
}
