/** Long enough for the heaviest request the demo views accept (an encrypted sum over every stored batch). */
export const DEFAULT_REQUEST_DEADLINE_MS = 10_000;

/** KEYHOLE_REQUEST_DEADLINE_MS: milliseconds, 1 ms to 10 minutes; absent or empty means the default. */
export function requestDeadlineFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_REQUEST_DEADLINE_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000)
    throw new Error(`KEYHOLE_REQUEST_DEADLINE_MS: expected whole milliseconds from 1 to 600000, got "${value}"`);
  return ms;
}
