import { rational, rationalFromNumber, toNumber } from './rational.ts';

/**
 * Budget figures as people read them. The ledger sums in exact `numeric`, but a request composes its releases
 * in binary floating point, where 0.7 + 0.6 is 1.2999999999999998: no figure a steward declares or an agent
 * asks has more than 12 significant digits, so the noise below them is rounded off.
 */
export function budgetFigure(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(12)) : value;
}

/** `limit − spent` on the decimals the two figures print as (2 − 1.3 is 0.7, not 0.7000000000000002), never below 0. */
export function epsilonRemaining(limit: number, spent: number): number {
  if (!Number.isFinite(spent)) return 0;
  const a = rationalFromNumber(budgetFigure(limit));
  const b = rationalFromNumber(budgetFigure(spent));
  return Math.max(0, toNumber(rational(a.num * b.den - b.num * a.den, a.den * b.den)));
}

/** The first day (UTC, ISO) after a budget period: '2026-11' resets on '2026-12-01', '2026' on '2027-01-01'. */
export function periodResetsOn(period: string): string {
  const [year, month, day] = period.split('-').map(Number) as [number, number | undefined, number | undefined];
  const next = new Date(
    Date.UTC(year + (month === undefined ? 1 : 0), month === undefined ? 0 : day === undefined ? month : month - 1, day === undefined ? 1 : day + 1),
  );
  return next.toISOString().slice(0, 10);
}
