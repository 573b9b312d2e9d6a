/**
 * Differentially private partition selection for GROUP BY on keys that are not public: a group is
 * released only if its noisy count clears a threshold τ, so groups that exist because of one data
 * subject show up with probability at most δ (the approach of Wilson et al., "Differentially Private
 * SQL with Bounded User Contribution", PoPETs 2020, with exact discrete Laplace noise).
 *
 * Setting. Upstream SQL keeps at most k rows per subject. A subject may put all k rows in one group,
 * spread them over several, or create groups nobody else is in; either way adding or removing it moves
 * the vector of group counts by at most k in L1 norm.
 *
 * Mechanism. For every group with count c ≥ 1: draw Z ~ discrete Laplace with scale b = k/ε, release
 * (group, c + Z) when c + Z ≥ τ, else nothing.
 *
 * Privacy, (ε, δ). Groups present in both neighbours: their counts are the discrete Laplace mechanism
 * with L1 sensitivity k, so ε-DP; dropping the ones below τ is post-processing. Groups only one neighbour
 * has were created by the one differing subject, with counts c_1, …, c_j ≥ 1, Σ c_i ≤ k. The release is
 * ε-close unless one of those is kept, which happens with probability
 *   W = 1 - Π_i (1 - p(c_i)),   p(c) = P[c + Z ≥ τ] = P[Z ≥ τ - c].
 * Worst case over the split. With a = e^{-1/b} and m ≥ 0, P[Z ≥ m] = a^m/(1+a) (summing the pmf
 * (1-a)/(1+a)·a^|z|), so while c ≤ τ, p(c) = a^τ·e^{c/b}/(1+a) is convex and increasing in c, and so
 * is h(c) = -ln(1 - p(c)) (an increasing convex function of it); W = 1 - e^{-Σ h(c_i)}. Using every row
 * only raises Σ h. For a fixed number j of groups, moving a row from a group of c' ≥ 2 rows to one of
 * c ≥ c' does not lower Σ h (h's increments grow), so some worst split is one group of k - j + 1 rows and
 * j - 1 singletons; Σ h = h(k - j + 1) + (j - 1)·h(1) is convex in j, so its maximum is at j = 1 or j = k:
 *   W ≤ max(p(k), 1 - (1 - p(1))^k).
 * This needs c ≤ τ for every c ≤ k: δ < 1/2 gives it, since P[Z ≥ 0] = 1/(1+a) ≥ 1/2, so p(k) ≤ δ forces
 * τ - k ≥ 1. τ is the smallest integer with that maximum ≤ δ; the bound is attained by one of the two
 * splits, so a smaller τ would let some subject's groups through with probability above δ.
 */
import { makeDiscreteLaplace } from './mechanisms.ts';
import { smallestInteger } from './noise.ts';
import { PrivacyParameterError, positiveInteger, type Rational } from './rational.ts';

export interface PartitionSelectionParams {
  /** k: the most rows one data subject keeps (bounded upstream, in SQL), however it spreads them over groups. */
  readonly maxRowsPerSubject: number;
  readonly epsilon: number;
  /** In (0, 1/2): the most probability with which one subject's own groups may be released. */
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
  /**
   * Bounds on the true count of a released group, holding with probability ≥ `confidence` given that
   * the group was released, whatever its true count: near τ only groups with positive noise get through,
   * so the symmetric interval noisyCount ± h would sit above the true count too often.
   */
  interval(noisyCount: bigint, confidence: number): { lower: bigint; upper: bigint };
}

export function makePartitionSelection(params: PartitionSelectionParams): PartitionSelection {
  const k = Number(positiveInteger('maxRowsPerSubject', params.maxRowsPerSubject));
  const { delta } = params;
  if (!(delta > 0 && delta < 0.5)) throw new PrivacyParameterError(`partition selection needs delta in (0, 0.5), got ${delta}`);
  const counts = makeDiscreteLaplace({ sensitivity: k, epsilon: params.epsilon });
  const b = counts.noise.scale;
  const logOnePlusA = Math.log1p(Math.exp(-1 / b));
  /** ln P[Z ≥ m]; for m ≤ 0, P[Z ≥ m] = 1 - P[Z ≥ 1 - m]. */
  const logAtLeast = (m: number) => (m >= 0 ? -m / b - logOnePlusA : Math.log1p(-Math.exp((m - 1) / b - logOnePlusA)));
  const worstCaseRelease = (tau: number) => Math.max(Math.exp(logAtLeast(tau - k)), -Math.expm1(k * Math.log1p(-Math.exp(logAtLeast(tau - 1)))));
  // Each closed form alone (k singletons by the union bound, one group of k) puts τ near its answer.
  const hint = Math.max(1 + b * (Math.log(k / delta) - logOnePlusA), k + b * (-Math.log(delta) - logOnePlusA));
  const threshold = BigInt(smallestInteger((tau) => worstCaseRelease(tau) <= delta, hint));
  const tau = Number(threshold);

  return {
    threshold,
    scale: counts.scale,
    cost: { epsilon: params.epsilon, delta },
    releaseProbability: (count) => Math.exp(logAtLeast(tau - Number(count))),
    select(count) {
      const noisyCount = counts.release(BigInt(count));
      return noisyCount >= threshold ? { keep: true, noisyCount } : { keep: false, noisyCount: null };
    },
    interval(noisyCount, confidence) {
      const tail = (1 - confidence) / 2;
      const y = Number(noisyCount);
      const halfWidth = counts.noise.halfWidth(confidence);
      // Lower: the smallest c ≥ 1 under which a value this large is not in the top `tail` of what a released
      // group of count c shows: P[Y ≥ y | Y ≥ τ; c] = P[Z ≥ y - c]/P[Z ≥ τ - c] > tail. A c below it is
      // excluded only when y falls in c's top tail, which given release happens with probability ≤ tail.
      const lower = 1 + smallestInteger((j) => logAtLeast(y - 1 - j) - logAtLeast(tau - 1 - j) > Math.log(tail), y - halfWidth - 1);
      // Upper: release only cuts off negative noise, so P[Z < -h | release] ≤ P[Z < -h] ≤ tail.
      return { lower: BigInt(lower), upper: noisyCount + BigInt(halfWidth) };
    },
  };
}

export function selectPartition(count: bigint | number, params: PartitionSelectionParams): PartitionDecision {
  return makePartitionSelection(params).select(count);
}
