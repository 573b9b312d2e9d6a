/**
 * Goodness-of-fit for the DP tests: Pearson's chi-square of integer samples against an exact pmf,
 * with an exact p-value (regularised upper incomplete gamma). Tests reject below REJECT_BELOW, so
 * a correct sampler fails one test with probability 1e-9.
 */
export const REJECT_BELOW = 1e-9;

/** ln Γ(a) for a a positive multiple of 1/2 (all a chi-square test needs), exactly by recursion. */
function logGammaHalfInteger(a: number): number {
  let value = Number.isInteger(a) ? 0 : 0.5 * Math.log(Math.PI);
  for (let x = Number.isInteger(a) ? 1 : 0.5; x < a; x += 1) value += Math.log(x);
  return value;
}

/** Q(a, x) = Γ(a, x)/Γ(a): the series for P below a + 1, Lentz's continued fraction for Q above. */
function upperRegularisedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const prefactor = Math.exp(-x + a * Math.log(x) - logGammaHalfInteger(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && term > sum * 1e-16; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - prefactor * sum;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return prefactor * h;
}

export function chiSquarePValue(statistic: number, degreesOfFreedom: number): number {
  return upperRegularisedGamma(degreesOfFreedom / 2, statistic / 2);
}

export interface FitResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  readonly bins: number;
}

/**
 * Bins the integers around `center` so that every bin expects at least `minExpected` samples
 * (singletons where the pmf is large, merged runs in the tails, the outermost bins open-ended),
 * then computes Pearson's statistic.
 */
export function goodnessOfFit(samples: readonly bigint[], pmf: (y: number) => number, options: { center?: number; minExpected?: number } = {}): FitResult {
  const center = options.center ?? 0;
  const minExpected = options.minExpected ?? 20;
  const n = samples.length;
  let reach = 1;
  while ((pmf(center - reach) > 1e-18 || pmf(center + reach) > 1e-18) && reach < 10_000_000) reach += 1;
  const first = center - reach;

  const binOf = new Int32Array(2 * reach + 1);
  const expected: number[] = [];
  let running = 0;
  for (let y = first; y <= center + reach; y++) {
    binOf[y - first] = expected.length;
    running += n * pmf(y);
    if (running >= minExpected) {
      expected.push(running);
      running = 0;
    }
  }
  // A short run left at the right end joins the last full bin.
  if (running > 0 || expected.length === 0) {
    if (expected.length === 0) expected.push(running);
    else {
      expected[expected.length - 1]! += running;
      for (let i = 0; i < binOf.length; i++) binOf[i] = Math.min(binOf[i]!, expected.length - 1);
    }
  }

  const observed = new Array<number>(expected.length).fill(0);
  for (const sample of samples) {
    const offset = Math.min(Math.max(Number(sample) - first, 0), binOf.length - 1);
    observed[binOf[offset]!]! += 1;
  }
  let statistic = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    statistic += (observed[i]! - e) ** 2 / e;
  }
  const degreesOfFreedom = Math.max(1, expected.length - 1);
  return { statistic, degreesOfFreedom, pValue: chiSquarePValue(statistic, degreesOfFreedom), bins: expected.length };
}

export function draw(sampler: () => bigint, count: number): bigint[] {
  return Array.from({ length: count }, sampler);
}

/** |observed frequency − p| within `sigmas` binomial standard deviations. */
export function withinBinomial(hits: number, trials: number, p: number, sigmas = 6.5): boolean {
  return Math.abs(hits / trials - p) <= sigmas * Math.sqrt((p * (1 - p)) / trials);
}

/** Reference pmfs straight from the definitions, normalised by brute-force summation over |y| ≤ 10^5. */
function normalised(weight: (y: number) => number): (y: number) => number {
  let total = 0;
  for (let y = -100_000; y <= 100_000; y++) total += weight(y);
  return (y) => weight(y) / total;
}

export const laplacePmf = (b: number) => normalised((y) => Math.exp(-Math.abs(y) / b));
export const gaussianPmf = (sigma2: number) => normalised((y) => Math.exp(-(y * y) / (2 * sigma2)));
