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

/** 'YYYY-MM-DD' of the UTC day holding `seconds`. */
export function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** An ISO-8601 UTC timestamp, read the same by every PostgreSQL session whatever its TimeZone. */
export function isoTimestamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
