/**
 * The fixed time frame of the demo world and helpers over UTC epoch seconds. The frame is fixed (never
 * "now") so the data set does not depend on the day it is generated.
 */
import type { Rng } from './random.ts';

const DAY = 86_400;

/** Epoch seconds of midnight UTC on 'YYYY-MM-DD'. */
export function dateSeconds(isoDay: string): number {
  return Date.parse(`${isoDay}T00:00:00Z`) / 1000;
}

export const DEMO_TIME = {
  birthFrom: dateSeconds('1940-01-01'),
  birthUntil: dateSeconds('2007-01-01'),
  customersFrom: dateSeconds('2015-01-01'),
  customersUntil: dateSeconds('2026-10-01'),
  transactionsFrom: dateSeconds('2025-01-01'),
  transactionsUntil: dateSeconds('2026-11-01'),
  claimsFrom: dateSeconds('2018-01-01'),
  claimsUntil: dateSeconds('2026-11-01'),
} as const;

export const ADULT_AGE_SECONDS = 18 * 365.25 * DAY;

/** A whole second uniformly in [from, until). */
export function secondBetween(rng: Rng, from: number, until: number): number {
  return from + Math.floor(rng.float() * (until - from));
}

/** Midnight UTC of the day holding `seconds`. */
export function startOfDay(seconds: number): number {
  return seconds - (((seconds % DAY) + DAY) % DAY);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/**
 * Year, month, day of a day number since 1970-01-01 (Hinnant's days-to-civil algorithm). Plain arithmetic:
 * a million rows need a million dates, and going through `Date` costs several times more.
 */
function civilDate(days: number): string {
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1_460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

/** 'YYYY-MM-DD' of the UTC day holding `seconds` (years 1000–9999). */
export function isoDate(seconds: number): string {
  return civilDate(Math.floor(seconds / DAY));
}

/** An ISO-8601 UTC timestamp of whole `seconds`, the same text as `Date#toISOString`; read the same by
 * every PostgreSQL session whatever its TimeZone. */
export function isoTimestamp(seconds: number): string {
  const ofDay = seconds - Math.floor(seconds / DAY) * DAY;
  const time = `${pad2(Math.floor(ofDay / 3_600))}:${pad2(Math.floor(ofDay / 60) % 60)}:${pad2(ofDay % 60)}`;
  return `${isoDate(seconds)}T${time}.000Z`;
}
