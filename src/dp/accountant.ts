/**
 * Privacy accounting. Costs come in two currencies: (ε, δ)-DP (pure when δ = 0: discrete Laplace,
 * exponential mechanism, partition selection) and ρ-zCDP (discrete Gaussian). Every total below is a
 * plain sum, so a ledger can keep it as SQL `sum(...)` columns; the conversion to one ε happens only
 * when a total is checked against a budget (ε, δ).
 *
 * References:
 * - Basic composition: (ε₁, δ₁) then (ε₂, δ₂) is (ε₁+ε₂, δ₁+δ₂)-DP. Dwork & Roth, "The Algorithmic
 *   Foundations of Differential Privacy" (2014), Theorem 3.16.
 * - zCDP composes additively: ρ₁ then ρ₂ is (ρ₁+ρ₂)-zCDP. Bun & Steinke, "Concentrated Differential
 *   Privacy: Simplifications, Extensions, and Lower Bounds" (TCC 2016), Lemma 1.7.
 * - ε-DP implies (ε²/2)-zCDP: Bun & Steinke 2016, Proposition 1.4.
 * - ρ-zCDP implies (ε, δ)-DP for every δ > 0 with ε = ρ + 2√(ρ·ln(1/δ)): Bun & Steinke 2016,
 *   Proposition 1.3.
 * - The tighter conversion ε = inf_{α>1} αρ + (ln(1/δ) + (α-1)·ln(α-1) - α·ln α)/(α-1): Canonne,
 *   Kamath & Steinke, "The Discrete Gaussian for Differential Privacy" (2020), §2.3 (Corollary 13).
 *   Every α gives a valid ε, so a numerical minimisation that misses the infimum stays sound.
 * `zcdpToEpsilon` uses the smaller of the two.
 */
import { PrivacyParameterError } from './rational.ts';

export type PrivacyCost = { epsilon: number; delta: number } | { rho: number };

export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

/** What a sequence of costs adds up to; every field is a sum over the costs. */
export interface ComposedCost {
  /** Σε over pure costs (δ = 0). */
  readonly pureEpsilon: number;
  /** Σε²/2 over the same pure costs: their zCDP view, used when that is tighter. */
  readonly pureRho: number;
  /** Σε and Σδ over approximate costs (δ > 0). */
  readonly approxEpsilon: number;
  readonly approxDelta: number;
  /** Σρ over zCDP costs. */
  readonly rho: number;
}

export const NO_COST: ComposedCost = { pureEpsilon: 0, pureRho: 0, approxEpsilon: 0, approxDelta: 0, rho: 0 };

/** Budget checks forgive this relative excess so that 0.1 + 0.2 fits a budget of 0.3. */
const BUDGET_TOLERANCE = 1e-9;

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new PrivacyParameterError(`${name} must be a finite number ≥ 0, got ${value}`);
  }
}

export function pureToZcdp(epsilon: number): number {
  checkNonNegative('epsilon', epsilon);
  return (epsilon * epsilon) / 2;
}

export function addCost(total: ComposedCost, cost: PrivacyCost): ComposedCost {
  if ('rho' in cost) {
    checkNonNegative('rho', cost.rho);
    return { ...total, rho: total.rho + cost.rho };
  }
  checkNonNegative('epsilon', cost.epsilon);
  checkNonNegative('delta', cost.delta);
  if (cost.delta === 0) {
    return { ...total, pureEpsilon: total.pureEpsilon + cost.epsilon, pureRho: total.pureRho + pureToZcdp(cost.epsilon) };
  }
  return { ...total, approxEpsilon: total.approxEpsilon + cost.epsilon, approxDelta: total.approxDelta + cost.delta };
}

/** Two composed totals as one (composition is a sum in every component). */
export function addComposed(a: ComposedCost, b: ComposedCost): ComposedCost {
  return {
    pureEpsilon: a.pureEpsilon + b.pureEpsilon,
    pureRho: a.pureRho + b.pureRho,
    approxEpsilon: a.approxEpsilon + b.approxEpsilon,
    approxDelta: a.approxDelta + b.approxDelta,
    rho: a.rho + b.rho,
  };
}

export function composeCosts(costs: Iterable<PrivacyCost>): ComposedCost {
  let total = NO_COST;
  for (const cost of costs) total = addCost(total, cost);
  return total;
}

function checkConversion(rho: number, delta: number): void {
  checkNonNegative('rho', rho);
  if (!(delta > 0 && delta < 1)) throw new PrivacyParameterError(`delta must be in (0, 1), got ${delta}`);
}

export function zcdpToEpsilonBunSteinke(rho: number, delta: number): number {
  checkConversion(rho, delta);
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

function cksEpsilonAt(alpha: number, rho: number, logInverseDelta: number): number {
  const m = alpha - 1;
  return alpha * rho + (logInverseDelta + m * Math.log(m) - alpha * Math.log(alpha)) / m;
}

export function zcdpToEpsilonCks(rho: number, delta: number): number {
  checkConversion(rho, delta);
  if (rho === 0) return 0;
  const logInverseDelta = Math.log(1 / delta);
  const at = (logM: number) => cksEpsilonAt(1 + Math.exp(logM), rho, logInverseDelta);
  // Coarse grid over α-1 ∈ [1e-6, 1e8], then golden-section search around the best grid point.
  const gridLow = Math.log(1e-6);
  const gridStep = (Math.log(1e8) - gridLow) / 400;
  let best = 0;
  for (let i = 1; i <= 400; i++) if (at(gridLow + i * gridStep) < at(gridLow + best * gridStep)) best = i;
  let low = gridLow + (best - 1) * gridStep;
  let high = gridLow + (best + 1) * gridStep;
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const left = high - ratio * (high - low);
    const right = low + ratio * (high - low);
    if (at(left) < at(right)) high = right;
    else low = left;
  }
  return Math.min(at((low + high) / 2), at(gridLow + best * gridStep));
}

/** The ε that ρ-zCDP certifies at δ; 0 for ρ = 0, Infinity for ρ > 0 and δ = 0. */
export function zcdpToEpsilon(rho: number, delta: number): number {
  if (rho === 0) return 0;
  if (delta <= 0) return Infinity;
  return Math.min(zcdpToEpsilonBunSteinke(rho, delta), zcdpToEpsilonCks(rho, delta));
}

/** The largest ρ whose conversion at δ is at most ε (for calibrating a Gaussian to an (ε, δ) target). */
export function rhoForEpsilon(epsilon: number, delta: number): number {
  checkConversion(epsilon, delta);
  // ε(ρ) ≥ ρ and increases with ρ: bisect on [0, ε], keeping the side that stays within ε.
  let low = 0;
  let high = epsilon;
  for (let i = 0; i < 100; i++) {
    const middle = (low + high) / 2;
    if (zcdpToEpsilon(middle, delta) <= epsilon) low = middle;
    else high = middle;
  }
  return low;
}

/**
 * The ε that a composed total certifies at total δ: the approximate part composes basically; the
 * zCDP part converts with the δ left over. Pure costs either compose basically or join the zCDP part
 * as ε²/2 — whichever gives the smaller ε (many small pure costs do better as zCDP).
 */
export function epsilonAt(total: ComposedCost, delta: number): number {
  if (total.approxDelta > delta * (1 + BUDGET_TOLERANCE)) return Infinity;
  const remainingDelta = Math.max(0, delta - total.approxDelta);
  const pureBasic = total.pureEpsilon + zcdpToEpsilon(total.rho, remainingDelta);
  const pureAsZcdp = zcdpToEpsilon(total.rho + total.pureRho, remainingDelta);
  return total.approxEpsilon + Math.min(pureBasic, pureAsZcdp);
}

export interface BudgetCheck {
  readonly withinBudget: boolean;
  /** The ε the total certifies at the budget's δ. */
  readonly epsilon: number;
  readonly delta: number;
}

export function checkBudget(total: ComposedCost, budget: PrivacyBudget): BudgetCheck {
  checkNonNegative('budget epsilon', budget.epsilon);
  checkNonNegative('budget delta', budget.delta);
  const epsilon = epsilonAt(total, budget.delta);
  return { withinBudget: epsilon <= budget.epsilon * (1 + BUDGET_TOLERANCE), epsilon, delta: budget.delta };
}
