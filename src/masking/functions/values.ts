/**
 * How masking functions read the JS values the `Db` adapters produce: text as string, int8 as number
 * or bigint (or string from `pg`), numeric as string ('1234.50'), date as 'YYYY-MM-DD',
 * timestamptz as Date. Anything else is a MaskValueError (the rule is on the wrong column type).
 */
import { MaskValueError } from './errors.ts';

const NUMERIC_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function textOf(functionName: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw new MaskValueError(functionName, value, 'text');
}

/** Text, or an integer shown in decimal (ids and codes stored as int columns). */
export function textOrIntegerOf(functionName: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) return String(value);
  throw new MaskValueError(functionName, value, 'text or integer');
}

/** A number, bigint or numeric string (how PostgreSQL numeric arrives), as a float. */
export function numberOf(functionName: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
  throw new MaskValueError(functionName, value, 'a number or numeric string');
}

/**
 * The text a keyed or hashing function feeds to HMAC/SHA-256. Integers hash as their decimal form,
 * so an int8 arriving as number (PGlite) or string (`pg`) gives the same token.
 */
export function keyInputOf(functionName: string, value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'number':
      if (Number.isFinite(value)) return String(value);
      break;
    case 'object':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      break;
  }
  throw new MaskValueError(functionName, value, 'text, number or date');
}

export interface CalendarDate {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
}

/**
 * A date column ('YYYY-MM-DD'), a timestamp as text (its date part, as written) or a Date (its UTC
 * date, which is how timestamptz values arrive).
 */
export function calendarDateOf(functionName: string, value: unknown): CalendarDate {
  if (typeof value === 'string') {
    const date = parseIsoDatePrefix(value);
    if (date !== undefined) return date;
  } else if (value instanceof Date && !Number.isNaN(value.getTime())) {
    return { year: value.getUTCFullYear(), month: value.getUTCMonth() + 1, day: value.getUTCDate() };
  }
  throw new MaskValueError(functionName, value, "a date ('YYYY-MM-DD') or timestamp");
}

/** Parses the leading 'YYYY-MM-DD' of a string; undefined when it has none. BC dates are refused. */
export function parseIsoDatePrefix(text: string): CalendarDate | undefined {
  if (text.length < 10 || text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d) return undefined;
  if (text.length > 10 && text.endsWith('BC')) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  return { year, month, day };
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!;
}

function digitsAt(text: string, start: number, count: number): number {
  let result = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    result = result * 10 + digit;
  }
  return result;
}
