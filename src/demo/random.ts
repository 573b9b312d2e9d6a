/**
 * Reproducible randomness for the demo data set. NOT for security: every value here is predictable from
 * the seed by design, so the same seed and scale always yield byte-identical rows. Keyhole's privacy code
 * (DP noise, keys, tokens) uses `crypto`, never this module.
 *
 * Each entity draws from its own generator keyed by (seed, stream, index), so any row can be generated
 * without generating the rows before it, and chunks can be produced independently and in any order.
 */

/** The seed of the shipped demo data set. */
export const DEFAULT_DEMO_SEED = 0x6b657968; // "keyh"

/** MurmurHash3's 32-bit finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** A stable 32-bit id for a stream name (FNV-1a), so streams are named in code, not numbered by hand. */
export function streamId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** xoshiro128** (Blackman & Vigna): small, fast, good statistical quality; 2^128 − 1 period. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.#s0 = s0 | 0;
    this.#s1 = s1 | 0;
    this.#s2 = s2 | 0;
    // The all-zero state is the one fixed point of xoshiro.
    this.#s3 = (s0 | s1 | s2 | s3) === 0 ? 1 : s3 | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 bits of resolution (plenty for demo values). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** A uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new RangeError('Rng.pick needs a non-empty list');
    return item;
  }

  /** A standard normal variate (Box–Muller). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1]: log(0) is not allowed
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  /** A log-normal variate with the given median: skewed, positive, with a long right tail. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** `count` random decimal digits as a string (leading zeros kept). */
  digits(count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += String(Math.floor(this.float() * 10));
    return out;
  }
}

/**
 * The generator of one entity. Distinct (stream, index) pairs give distinct generator states (the first
 * word is a bijection of the index; the others mix everything), so no two entities share a sequence.
 */
export function rngFor(seed: number, stream: number, index: number): Rng {
  const key = fmix32(seed ^ fmix32(stream ^ 0x9e3779b9));
  const w0 = fmix32(index ^ 0x243f6a88);
  const w1 = fmix32(key ^ w0 ^ 0x85a308d3);
  const w2 = fmix32((w1 + index) ^ 0x13198a2e);
  const w3 = fmix32(w2 ^ key ^ 0x03707344);
  return new Rng(w0, w1, w2, w3);
}

/**
 * A picker that returns a key with probability proportional to its weight. The cumulative table is
 * built once, so picking costs one draw and a short scan.
 */
export function weightedPicker<K extends string>(weights: Readonly<Record<K, number>>): (rng: Rng) => K {
  const keys = Object.keys(weights) as K[];
  const cumulative: number[] = [];
  let total = 0;
  for (const key of keys) {
    total += weights[key];
    cumulative.push(total);
  }
  return (rng) => {
    const u = rng.float() * total;
    for (let i = 0; i < keys.length - 1; i++) if (u < cumulative[i]!) return keys[i]!;
    return keys[keys.length - 1]!;
  };
}
