/** Small statistics and formatting shared by the benches. */

/** The q-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between closest ranks. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const lower = sorted[below] as number;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  return lower + (upper - lower) * (position - below);
}

export const median = (values: ArrayLike<number>) => quantile(values, 0.5);

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export const ratio = (numerator: number, denominator: number) => `${(numerator / denominator).toFixed(2)}×`;

/** Total busy CPU time of the machine so far (all cores), in ms: compared before and after a run. */
export function machineBusyMs(cpus: ReadonlyArray<{ times: { user: number; nice: number; sys: number; irq: number } }>): number {
  return cpus.reduce((total, cpu) => total + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
}
