/**
 * National identifiers of the demo jurisdictions: a validator per scheme (shape + check digit) and a
 * generator that produces valid, fabricated numbers consistent with the person (birth date, gender,
 * place). Stored forms are compact (no spaces) except the SSN, which keeps its dashes; validators also
 * accept the usual space-grouped print forms.
 */
import { hasValidVerhoeff, iso7064Mod11_10, iso7064Mod11_2, mod97Key, verhoeffCheckDigit, weightedSum } from './check-digits.ts';
import type { Rng } from './random.ts';

export type Gender = 'F' | 'M' | 'X';

function compact(value: string): string {
  return value.replace(/ /g, '');
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

// ── Singapore NRIC / FIN ──────────────────────────────────────────────────────────────────────────
const NRIC_WEIGHTS = [2, 7, 6, 5, 4, 3, 2] as const;
const NRIC_LETTERS = { S: 'JZIHGFEDCBA', T: 'JZIHGFEDCBA', F: 'XWUTRQPNMLK', G: 'XWUTRQPNMLK' } as const;
const NRIC_OFFSET = { S: 0, T: 4, F: 0, G: 4 } as const;
type NricPrefix = keyof typeof NRIC_LETTERS;

function nricCheckLetter(prefix: NricPrefix, digits: string): string {
  return NRIC_LETTERS[prefix][(weightedSum(digits, NRIC_WEIGHTS) + NRIC_OFFSET[prefix]) % 11]!;
}

/** NRIC (S/T) and FIN (F/G). The 2022 'M' FIN series uses another table and is not accepted. */
export function isValidNric(value: string): boolean {
  const match = /^([STFG])(\d{7})([A-Z])$/.exec(value);
  if (!match) return false;
  return nricCheckLetter(match[1] as NricPrefix, match[2]!) === match[3];
}

/** Citizens born from 1968 carry their birth year in digits 1–2; 'T' marks births from 2000. */
export function generateNric(rng: Rng, birthDate: string): string {
  const year = Number(birthDate.slice(0, 4));
  const prefix: NricPrefix = year >= 2000 ? 'T' : 'S';
  const digits = year >= 1968 ? birthDate.slice(2, 4) + rng.digits(5) : String(rng.int(0, 1)) + rng.digits(6);
  return prefix + digits + nricCheckLetter(prefix, digits);
}

// ── China resident identity card number ───────────────────────────────────────────────────────────
export function isValidChineseResidentId(value: string): boolean {
  const match = /^([1-8]\d{5})((?:19|20)\d{2})(\d{2})(\d{2})(\d{3})([\dX])$/.exec(value);
  if (!match) return false;
  if (!isCalendarDate(Number(match[2]), Number(match[3]), Number(match[4]))) return false;
  return iso7064Mod11_2(value.slice(0, 17)) === match[6];
}

/** The sequence number is odd for men and even for women (no third option exists on the card). */
export function generateChineseResidentId(rng: Rng, areaCode: string, birthDate: string, gender: Gender): string {
  const odd = gender === 'M' || (gender === 'X' && rng.chance(0.5));
  const sequence = String(odd ? 2 * rng.int(0, 499) + 1 : 2 * rng.int(1, 499)).padStart(3, '0');
  const body = areaCode + birthDate.replace(/-/g, '') + sequence;
  return body + iso7064Mod11_2(body);
}

// ── India Aadhaar ─────────────────────────────────────────────────────────────────────────────────
export function isValidAadhaar(value: string): boolean {
  const digits = compact(value);
  return /^[2-9]\d{11}$/.test(digits) && hasValidVerhoeff(digits);
}

export function generateAadhaar(rng: Rng): string {
  const body = String(rng.int(2, 9)) + rng.digits(10);
  return body + verhoeffCheckDigit(body);
}

// ── United States Social Security number ──────────────────────────────────────────────────────────
// Numbers the SSA voided after they were printed in advertising.
const ADVERTISED_SSNS = new Set(['078-05-1120', '219-09-9999']);

export function isValidSsn(value: string): boolean {
  const dashed = /^\d{9}$/.test(value) ? `${value.slice(0, 3)}-${value.slice(3, 5)}-${value.slice(5)}` : value;
  const match = /^(\d{3})-(\d{2})-(\d{4})$/.exec(dashed);
  if (!match) return false;
  const area = Number(match[1]);
  if (area === 0 || area === 666 || area >= 900) return false;
  if (match[2] === '00' || match[3] === '0000') return false;
  return !ADVERTISED_SSNS.has(dashed);
}

export function generateSsn(rng: Rng): string {
  for (;;) {
    const area = String(rng.int(1, 899)).padStart(3, '0');
    const candidate = `${area}-${String(rng.int(1, 99)).padStart(2, '0')}-${String(rng.int(1, 9999)).padStart(4, '0')}`;
    if (isValidSsn(candidate)) return candidate;
  }
}

// ── France NIR (numéro de sécurité sociale) ───────────────────────────────────────────────────────
/** Corsica's departments 2A/2B count as 19/18 in the key. */
function nirNumericBody(body: string): string {
  return body.slice(0, 5) + body.slice(5, 7).replace('2A', '19').replace('2B', '18') + body.slice(7);
}

/**
 * Sex 1/2 (7/8 for provisional numbers), YY, MM (01–12, or 20 / 30–42 when the month is unknown),
 * department (2 chars, or 3 digits overseas with a 2-digit commune), commune, order, key.
 */
export function isValidNir(value: string): boolean {
  const nir = compact(value);
  if (!/^[1278]\d{2}(0[1-9]|1[0-2]|20|3\d|4[0-2])(\d{2}|2[AB])\d{6}\d{2}$/.test(nir)) return false;
  return mod97Key(nirNumericBody(nir.slice(0, 13))) === Number(nir.slice(13));
}

/** Persons born abroad get department 99 and their INSEE country code as commune. */
const NIR_BIRTH_COUNTRIES = ['350', '351', '352', '139', '127', '134', '109'] as const; // MA TN DZ PT IT ES DE

export function generateNir(rng: Rng, birthDate: string, gender: Gender, department: string): string {
  const sex = gender === 'M' ? '1' : gender === 'F' ? '2' : String(rng.int(1, 2));
  const bornAbroad = rng.chance(0.06);
  const place = bornAbroad ? `99${rng.pick(NIR_BIRTH_COUNTRIES)}` : department + String(rng.int(1, 899)).padStart(3, '0');
  const body = sex + birthDate.slice(2, 4) + birthDate.slice(5, 7) + place + String(rng.int(1, 999)).padStart(3, '0');
  return body + String(mod97Key(nirNumericBody(body))).padStart(2, '0');
}

// ── Germany Steuerliche Identifikationsnummer ─────────────────────────────────────────────────────
/**
 * Among the first ten digits exactly one digit repeats, twice or (since 2016) three times but never in
 * three adjacent positions; every other digit appears at most once.
 */
function hasSteuerIdDigitPattern(first10: string): boolean {
  const counts = new Array<number>(10).fill(0);
  for (const char of first10) counts[Number(char)]!++;
  const repeated = counts.filter((count) => count > 1);
  if (repeated.length !== 1 || repeated[0]! > 3) return false;
  return !/(\d)\1\1/.test(first10);
}

export function isValidSteuerId(value: string): boolean {
  const digits = compact(value);
  if (!/^[1-9]\d{10}$/.test(digits)) return false;
  return hasSteuerIdDigitPattern(digits.slice(0, 10)) && iso7064Mod11_10(digits.slice(0, 10)) === Number(digits[10]);
}

/** Generates the pre-2016 pattern only (one digit exactly twice), which both rule versions accept. */
export function generateSteuerId(rng: Rng): string {
  const pool = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const digits = pool.slice(0, 9);
  digits.push(digits[rng.int(0, 8)]!);
  for (let i = digits.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [digits[i], digits[j]] = [digits[j]!, digits[i]!];
  }
  if (digits[0] === '0') {
    const swap = digits.findIndex((digit) => digit !== '0');
    [digits[0], digits[swap]] = [digits[swap]!, '0'];
  }
  const body = digits.join('');
  return body + iso7064Mod11_10(body);
}

// ── Australia Tax File Number ─────────────────────────────────────────────────────────────────────
const TFN_WEIGHTS = [1, 4, 3, 7, 5, 8, 6, 9, 10] as const;

export function isValidTfn(value: string): boolean {
  const digits = compact(value);
  return /^\d{9}$/.test(digits) && weightedSum(digits, TFN_WEIGHTS) % 11 === 0;
}

/** The last weight is 10 ≡ −1 (mod 11), so the check digit is the partial sum mod 11, unless that is 10. */
export function generateTfn(rng: Rng): string {
  for (;;) {
    const body = String(rng.int(1, 9)) + rng.digits(7);
    const check = weightedSum(body, TFN_WEIGHTS.slice(0, 8)) % 11;
    if (check < 10) return body + check;
  }
}

// ── Japan Individual Number (My Number) ───────────────────────────────────────────────────────────
/** Weights Qn for the digit n places left of the check digit: n+1 for n ≤ 6, n−5 for n ≥ 7. */
function myNumberCheckDigit(first11: string): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) sum += (first11.charCodeAt(11 - n) - 48) * (n <= 6 ? n + 1 : n - 5);
  const remainder = sum % 11;
  return remainder <= 1 ? 0 : 11 - remainder;
}

export function isValidMyNumber(value: string): boolean {
  const digits = compact(value);
  return /^\d{12}$/.test(digits) && myNumberCheckDigit(digits) === Number(digits[11]);
}

export function generateMyNumber(rng: Rng): string {
  const body = rng.digits(11);
  return body + myNumberCheckDigit(body);
}
