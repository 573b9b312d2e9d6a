/**
 * Measurements on integer-valued queries, OpenDP style: a constructor takes the query's sensitivity
 * (how far one data subject can move the true value, in integer units) and the privacy parameter,
 * and returns what it costs, the noise it adds, and `release`. Real-valued sums are first turned
 * into integers with `makeFixedPoint`.
 */
import type { PrivacyCost } from './accountant.ts';
import { discreteGaussianNoise, discreteLaplaceNoise, type IntegerNoise } from './noise.ts';
import {
  PrivacyParameterError,
  divide,
  multiply,
  positiveInteger,
  positiveRational,
  rational,
  rationalFromDecimal,
  rationalFromNumber,
  roundHalfAwayFromZero,
  type Rational,
} from './rational.ts';

export interface NoisyInterval {
  readonly lower: bigint;
  readonly upper: bigint;
  /** The confidence asked for. */
  readonly confidence: number;
  /** The exact probability that the interval holds the true value (≥ confidence; more, since noise is discrete). */
  readonly coverage: number;
}

export interface IntegerMeasurement<Cost extends PrivacyCost> {
  readonly sensitivity: bigint;
  readonly cost: Cost;
  readonly noise: IntegerNoise;
  release(trueValue: bigint): bigint;
  /** The symmetric interval noisy ± k with the smallest k that covers the true value with `confidence`. */
  interval(noisy: bigint, confidence?: number): NoisyInterval;
}

export interface DiscreteLaplaceMeasurement extends IntegerMeasurement<{ epsilon: number; delta: number }> {
  /** b = sensitivity/ε exactly. */
  readonly scale: Rational;
}

export interface DiscreteGaussianMeasurement extends IntegerMeasurement<{ rho: number }> {
  /** σ² = sensitivity²/(2ρ) exactly. */
  readonly sigma2: Rational;
}

function measurement<Cost extends PrivacyCost>(sensitivity: bigint, cost: Cost, noise: IntegerNoise): IntegerMeasurement<Cost> {
  return {
    sensitivity,
    cost,
    noise,
    release: (trueValue) => trueValue + noise.sample(),
    interval(noisy, confidence = 0.95) {
      const k = noise.halfWidth(confidence);
      return { lower: noisy - BigInt(k), upper: noisy + BigInt(k), confidence, coverage: noise.massWithin(k) };
    },
  };
}

/**
 * ε-DP for a query of the given L1 sensitivity: the pmf ratio of outputs for true values v and v+Δ
 * is e^{(|y-v-Δ| - |y-v|)/b} ≤ e^{Δ/b} = e^ε, and every integer is a possible output.
 */
export function makeDiscreteLaplace(params: { sensitivity: number | bigint; epsilon: number }): DiscreteLaplaceMeasurement {
  const sensitivity = positiveInteger('sensitivity', params.sensitivity);
  const scale = divide(rational(sensitivity), positiveRational('epsilon', params.epsilon));
  return {
    ...measurement(sensitivity, { epsilon: params.epsilon, delta: 0 }, discreteLaplaceNoise(scale)),
    scale,
  };
}

/**
 * ρ-zCDP for a query of the given sensitivity Δ with σ² = Δ²/(2ρ): Canonne, Kamath & Steinke 2020
 * show that the Rényi divergence of order α between the outputs for v and v+Δ is at most
 * αΔ²/(2σ²) = αρ, as for the continuous Gaussian.
 */
export function makeDiscreteGaussian(params: { sensitivity: number | bigint; rho: number }): DiscreteGaussianMeasurement {
  const sensitivity = positiveInteger('sensitivity', params.sensitivity);
  const rho = positiveRational('rho', params.rho);
  const sigma2 = divide(rational(sensitivity * sensitivity), multiply(rational(2n), rho));
  return {
    ...measurement(sensitivity, { rho: params.rho }, discreteGaussianNoise(sigma2)),
    sigma2,
  };
}

/**
 * Fixed-point units for real values: with 2 decimals, 12.345 becomes 1235 units (halves away from
 * zero). Scale every value before summing (in SQL: `round(clamped * 100)`), so the sum's sensitivity
 * is `toUnits(bound)` and its noise is integer noise.
 */
export interface FixedPoint {
  readonly decimals: number;
  /** Numbers are read as the decimal they print as; strings (SQL `numeric`) are read exactly. */
  toUnits(value: number | string): bigint;
  /** The exact decimal text of a number of units, e.g. -12345n → "-123.45". */
  fromUnits(units: bigint): string;
}

export function makeFixedPoint(decimals: number): FixedPoint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 30) {
    throw new PrivacyParameterError(`decimals must be an integer in [0, 30], got ${decimals}`);
  }
  const unit = rational(10n ** BigInt(decimals));
  return {
    decimals,
    toUnits(value) {
      const exact = typeof value === 'string' ? rationalFromDecimal(value) : rationalFromNumber(value);
      return roundHalfAwayFromZero(multiply(exact, unit));
    },
    fromUnits(units) {
      const digits = (units < 0n ? -units : units).toString().padStart(decimals + 1, '0');
      const sign = units < 0n ? '-' : '';
      if (decimals === 0) return `${sign}${digits}`;
      return `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
    },
  };
}
