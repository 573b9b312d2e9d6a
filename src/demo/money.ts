/** Money in the demo data: amounts are computed in whole cents and written as numeric(…, 2) text. */

/** Whole cents of `amount`, clamped to [min, max] (in currency units). */
export function toCents(amount: number, min: number, max: number): number {
  return Math.round(Math.min(max, Math.max(min, amount)) * 100);
}

/** '1234.50', '-0.07': exact, never '-0.00'. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  return `${sign}${Math.floor(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
}
