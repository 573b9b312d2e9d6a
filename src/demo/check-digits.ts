/**
 * Check-digit algorithms used by national identifiers. Inputs are strings of decimal digits; callers
 * check the shape first.
 */

function digitAt(digits: string, index: number): number {
  return digits.charCodeAt(index) - 48;
}

/** Σ digit[i] × weight[i] over the first `weights.length` digits (`digits` must be that long). */
export function weightedSum(digits: string, weights: readonly number[]): number {
  if (digits.length < weights.length) throw new RangeError(`weightedSum needs ${weights.length} digits, got ${digits.length}`);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += digitAt(digits, i) * weights[i]!;
  return sum;
}

// Verhoeff: the dihedral group D5 multiplication table and the position permutation.
const VERHOEFF_MULTIPLY = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
] as const;
const VERHOEFF_PERMUTE = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 8, 7, 6, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
] as const;
const VERHOEFF_INVERSE = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9] as const;

/** Runs Verhoeff over `digits`; `offset` 1 leaves room for a check digit still to be appended. */
function verhoeffState(digits: string, offset: number): number {
  // The group is not commutative: digits are folded in from the rightmost one.
  let c = 0;
  for (let fromRight = 0; fromRight < digits.length; fromRight++) {
    const digit = digitAt(digits, digits.length - 1 - fromRight);
    c = VERHOEFF_MULTIPLY[c]![VERHOEFF_PERMUTE[(fromRight + offset) % 8]![digit]!]!;
  }
  return c;
}

export function verhoeffCheckDigit(digits: string): number {
  return VERHOEFF_INVERSE[verhoeffState(digits, 1)]!;
}

/** True when the last digit of `digits` is its Verhoeff check digit. */
export function hasValidVerhoeff(digits: string): boolean {
  return verhoeffState(digits, 0) === 0;
}

/** ISO 7064 MOD 11-2 (China resident ID): the check character, '0'–'9' or 'X' for 10. */
export function iso7064Mod11_2(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum = ((sum + digitAt(digits, i)) * 2) % 11;
  const check = (12 - sum) % 11;
  return check === 10 ? 'X' : String(check);
}

/** ISO 7064 MOD 11,10 (hybrid system; German Steuer-ID): the check digit. */
export function iso7064Mod11_10(digits: string): number {
  let product = 10;
  for (let i = 0; i < digits.length; i++) {
    const sum = (digitAt(digits, i) + product) % 10 || 10;
    product = (sum * 2) % 11;
  }
  return (11 - product) % 10;
}

/** 97 − (n mod 97) for a decimal string of up to 15 digits (fits a double exactly). */
export function mod97Key(digits: string): number {
  return 97 - (Number(digits) % 97);
}
