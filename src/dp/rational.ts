/**
 * Exact rationals as BigInt pairs. Privacy parameters arrive as JS numbers; the samplers need them
 * exact, so a number is read as the decimal it prints as (`String(0.1)` is "0.1", so 0.1 becomes
 * 1/10 rather than the binary fraction 3602879701896397/2^55). That decimal is the shortest one that
 * rounds to the same double, so the rational differs from the declared number by less than one ulp.
 */
export interface Rational {
  /** Sign lives here. */
  readonly num: bigint;
  /** Always > 0; `num/den` is in lowest terms. */
  readonly den: bigint;
}

/** A privacy or mechanism parameter that cannot be used (negative scale, ε = 0, NaN, …). */
export class PrivacyParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivacyParameterError';
  }
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new PrivacyParameterError('rational with a zero denominator');
  const sign = den < 0n ? -1n : 1n;
  const divisor = gcd(num, den) || 1n;
  return { num: (sign * num) / divisor, den: (sign * den) / divisor };
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/** Parses "12.5", "-0.001", "1e-7", "1.5E+21" exactly. */
export function rationalFromDecimal(text: string): Rational {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new PrivacyParameterError(`not a decimal number: "${text}"`);
  const [, sign = '', whole = '0', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText) - fraction.length;
  if (Math.abs(exponent) > 400) throw new PrivacyParameterError(`decimal exponent out of range: "${text}"`);
  const digits = BigInt(`${sign}${whole}${fraction}`);
  return exponent >= 0 ? rational(digits * 10n ** BigInt(exponent)) : rational(digits, 10n ** BigInt(-exponent));
}

export function rationalFromNumber(value: number): Rational {
  if (!Number.isFinite(value)) throw new PrivacyParameterError(`not a finite number: ${value}`);
  return rationalFromDecimal(String(value));
}

/** A strictly positive finite parameter (ε, ρ, a scale) as an exact rational. */
export function positiveRational(name: string, value: number): Rational {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new PrivacyParameterError(`${name} must be a finite number > 0, got ${value}`);
  }
  return rationalFromNumber(value);
}

/** A strictly positive integer parameter (a sensitivity, a contribution bound). */
export function positiveInteger(name: string, value: number | bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new PrivacyParameterError(`${name} must be an integer, got ${value}`);
  }
  const integer = BigInt(value);
  if (integer <= 0n) throw new PrivacyParameterError(`${name} must be > 0, got ${value}`);
  return integer;
}

export function multiply(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

export function divide(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den, a.den * b.num);
}

export function floorOf(r: Rational): bigint {
  const quotient = r.num / r.den;
  return r.num < 0n && quotient * r.den !== r.num ? quotient - 1n : quotient;
}

/** Nearest integer, halves away from zero (the rounding people expect of money). */
export function roundHalfAwayFromZero(r: Rational): bigint {
  const magnitude = (2n * (r.num < 0n ? -r.num : r.num) + r.den) / (2n * r.den);
  return r.num < 0n ? -magnitude : magnitude;
}

/** Nearest double; exact for the rationals that came from a number. */
export function toNumber(r: Rational): number {
  const plain = Number(r.num) / Number(r.den);
  if (Number.isFinite(plain) && plain !== 0) return plain;
  // Huge parts overflow to Infinity/Infinity: shift both to a comparable size first.
  const shift = BigInt(Math.max(0, r.num.toString(2).length - 900, r.den.toString(2).length - 900));
  return Number(r.num >> shift) / Number(r.den >> shift);
}
