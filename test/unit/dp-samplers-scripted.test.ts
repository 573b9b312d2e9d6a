/**
 * The samplers of src/dp/samplers.ts fed scripted random words instead of node:crypto's, so that every branch and
 * comparison is pinned by an exact output and an exact count of words read. dp-samplers.test.ts checks the
 * distributions statistically; this suite is the one fast enough for mutation testing.
 *
 * The samplers read little-endian uint32 words from a pool that randomFillSync fills, and single bits from one
 * such word, least significant bit first. The pool and the bit buffer are module state, so every test loads a
 * fresh copy of the module.
 */
import { describe, expect, it, vi } from 'vitest';
import { type Rational, rational } from '../../src/dp/rational.ts';

type Samplers = typeof import('../../src/dp/samplers.ts');

const feed = vi.hoisted(() => {
  // Served once the script is exhausted: AFTER_SCRIPT + i for the i-th word past it, so the first word read after
  // a run says exactly how far the run read.
  const AFTER_SCRIPT = 0xfeed0000;
  // A sampler that reads this far past its script will not stop (a mutant): fail now rather than spin until a timeout.
  const PAST_SCRIPT_LIMIT = 1 << 20;
  const state = { script: [] as readonly number[], served: 0 };
  const fill = vi.fn((buffer: Buffer) => {
    for (let at = 0; at < buffer.length; at += 4) {
      const position = state.served++;
      const past = position - state.script.length;
      if (past >= PAST_SCRIPT_LIMIT) throw new Error(`read ${PAST_SCRIPT_LIMIT} words past a script of ${state.script.length}`);
      buffer.writeUInt32LE(state.script[position] ?? AFTER_SCRIPT + past, at);
    }
    return buffer;
  });
  return { AFTER_SCRIPT, PAST_SCRIPT_LIMIT, state, fill };
});

vi.mock('node:crypto', async (importOriginal) => ({ ...(await importOriginal<typeof import('node:crypto')>()), randomFillSync: feed.fill }));

async function freshSamplers(words: readonly number[]): Promise<Samplers> {
  feed.state.script = words;
  feed.state.served = 0;
  feed.fill.mockClear();
  vi.resetModules();
  return import('../../src/dp/samplers.ts');
}

/**
 * Runs `run` on a fresh module fed `words`, then reads one more word (uniformBelow(2^32) returns a word as it is)
 * to learn how many words the run consumed; -1 when it stopped inside the script.
 */
async function withWords<T>(words: readonly number[], run: (samplers: Samplers) => T): Promise<{ value: T; consumed: number }> {
  const samplers = await freshSamplers(words);
  const value = run(samplers);
  const past = Number(samplers.uniformBelow(2n ** 32n)) - feed.AFTER_SCRIPT;
  return { value, consumed: past >= 0 && past < feed.PAST_SCRIPT_LIMIT ? words.length + past : -1 };
}

function refusal(message: string) {
  return { name: 'PrivacyParameterError', message };
}

describe('scripted words reach the samplers', () => {
  it('uniformBelow(7) of the scripted word 5 is 5, from one 16 KiB fill of the pool', async () => {
    expect(await withWords([5], (s) => s.uniformBelow(7n))).toEqual({ value: 5n, consumed: 1 });
    expect(feed.fill).toHaveBeenCalledTimes(1);
    expect(feed.fill.mock.calls[0]![0]).toHaveLength(16384);
  });

  it('the pool is refilled after 4096 words, and the 4097th word is the first of the refill', async () => {
    const script = Array.from({ length: 4097 }, (_, i) => i + 1);
    const s = await freshSamplers(script);
    const firstPool = Array.from({ length: 4096 }, () => s.uniformBelow(2n ** 32n));
    expect(firstPool).toEqual(script.slice(0, 4096).map(BigInt));
    expect(feed.fill).toHaveBeenCalledTimes(1);
    expect(s.uniformBelow(2n ** 32n)).toBe(4097n);
    expect(feed.fill).toHaveBeenCalledTimes(2);
  });
});

describe('uniformBelow', () => {
  it.each([
    // n = 3: 2^32 mod 3 = 1, so words from 2^32 - 1 up are rejected.
    { n: 3n, words: [0xfffffffe], expected: 2n },
    { n: 3n, words: [0xffffffff, 4], expected: 1n },
    // n = 7: 2^32 mod 7 = 4, so words from 2^32 - 4 up are rejected.
    { n: 7n, words: [0xfffffffb], expected: 6n },
    { n: 7n, words: [0xfffffffc, 10], expected: 3n },
    // Every word is accepted when n divides 2^32, and n = 2^32 still takes one word, not the two-word path.
    { n: 2n ** 32n, words: [0xffffffff], expected: 0xffffffffn },
    { n: 1n, words: [12345], expected: 0n },
  ])(
    'up to 2^32, rejects the words past the last multiple of n and reduces the others: uniformBelow($n) of $words is $expected',
    async ({ n, words, expected }) => {
      expect(await withWords(words, (s) => s.uniformBelow(n))).toEqual({ value: expected, consumed: words.length });
    },
  );

  it.each([
    // n - 1 = 383·2^32 + (2^32 - 1): the high word is taken mod 2^9, the pair rejected from n = 384·2^32 up.
    { n: 3n * 2n ** 39n, words: [0x1000017f, 0xffffffff], expected: 3n * 2n ** 39n - 1n },
    { n: 3n * 2n ** 39n, words: [384, 0, 5, 7], expected: 5n * 2n ** 32n + 7n },
    // n - 1 = 255·2^32 + (2^32 - 1): the high word is taken mod 2^8.
    { n: 2n ** 40n, words: [259, 9], expected: 3n * 2n ** 32n + 9n },
    { n: 2n ** 53n, words: [0xffffffff, 0xffffffff], expected: 2n ** 53n - 1n },
    { n: 2n ** 53n, words: [0x00200005, 1], expected: 5n * 2n ** 32n + 1n },
  ])('between 2^32 and 2^53, composes a high word (first) and a low word: uniformBelow($n) of $words is $expected', async ({ n, words, expected }) => {
    expect(await withWords(words, (s) => s.uniformBelow(n))).toEqual({ value: expected, consumed: words.length });
  });

  it.each([
    // n - 1 has 72 bits: three words, the first masked to its low 8 bits; rejected from 192·2^64 = n up.
    { n: 3n * 2n ** 70n, words: [0xabcdefbf, 0xffffffff, 0xffffffff], expected: 3n * 2n ** 70n - 1n },
    { n: 3n * 2n ** 70n, words: [192, 0, 0, 1, 2, 3], expected: 2n ** 64n + 2n * 2n ** 32n + 3n },
    // n - 1 has 64 bits: two whole words.
    { n: 2n ** 64n, words: [0xffffffff, 0xfffffffe], expected: 2n ** 64n - 2n },
    // n - 1 = 2^64 has 65 bits: the first word gives one bit; 2^64 + 1 = n is rejected, 2^64 accepted.
    { n: 2n ** 64n + 1n, words: [0xffffffff, 0, 1, 3, 0, 0], expected: 2n ** 64n },
  ])('beyond 2^53, builds a bigint from whole words, most significant first: uniformBelow($n) of $words is $expected', async ({ n, words, expected }) => {
    expect(await withWords(words, (s) => s.uniformBelow(n))).toEqual({ value: expected, consumed: words.length });
  });

  it.each([
    [0n, 'uniformBelow needs n > 0, got 0'],
    [-5n, 'uniformBelow needs n > 0, got -5'],
  ])('refuses the empty range below %s', async (n, message) => {
    await expect(withWords([], (s) => s.uniformBelow(n))).rejects.toMatchObject(refusal(message));
  });
});

describe('sampleBernoulli', () => {
  it.each([
    { p: rational(3n, 7n), words: [2], expected: true },
    { p: rational(3n, 7n), words: [3], expected: false },
    { p: rational(0n), words: [0xffffffff], expected: false },
    { p: rational(1n), words: [0xffffffff], expected: true },
  ])('succeeds exactly when uniformBelow(den) < num: p = $p.num/$p.den, word $words', async ({ p, words, expected }) => {
    expect(await withWords(words, (s) => s.sampleBernoulli(p))).toEqual({ value: expected, consumed: 1 });
  });

  it.each([
    [rational(-1n, 2n), 'Bernoulli needs 0 ≤ p ≤ 1, got -1/2'],
    [rational(4n, 3n), 'Bernoulli needs 0 ≤ p ≤ 1, got 4/3'],
  ])('refuses p outside [0, 1]: %o', async (p, message) => {
    await expect(withWords([], (s) => s.sampleBernoulli(p))).rejects.toMatchObject(refusal(message));
  });
});

describe('sampleBernoulliExp', () => {
  it('is true for γ = 0 without reading a word', async () => {
    expect(await withWords([], (s) => s.sampleBernoulliExp(rational(0n)))).toEqual({ value: true, consumed: 0 });
  });

  // γ ≤ 1: K counts up while Bernoulli(γ/K) succeeds, an odd K wins. For γ = 1 the first trial is uniformBelow(1) < 1,
  // which succeeds but still reads a word.
  it.each([
    { gamma: rational(1n), words: [0, 1], expected: false },
    { gamma: rational(1n), words: [0, 0, 2], expected: true },
    { gamma: rational(1n), words: [0, 0, 0, 3], expected: false },
    // Trials uniformBelow(3k) < 1: words 3, 6, 9 are multiples of 3, 6, 9, and 11 is not one of 12.
    { gamma: rational(1n, 3n), words: [3, 6, 9, 11], expected: false },
  ])('γ ≤ 1 stops at the first failing Bernoulli(γ/k) and wins on an odd k: γ = $gamma.num/$gamma.den, words $words', async ({ gamma, words, expected }) => {
    expect(await withWords(words, (s) => s.sampleBernoulliExp(gamma))).toEqual({ value: expected, consumed: words.length });
  });

  // γ > 1: ⌊γ⌋ trials of exp(-1), each counting k from 2 while uniformBelow(k) = 0 and winning on an odd k, then the
  // remainder γ - ⌊γ⌋.
  it.each([
    { gamma: rational(2n), words: [1], expected: false, why: 'the first exp(-1) fails at k = 2, the second is not drawn' },
    { gamma: rational(2n), words: [0, 1, 5], expected: false, why: 'the first exp(-1) wins at k = 3, the second fails at k = 2' },
    { gamma: rational(2n), words: [0, 0, 1], expected: false, why: 'the first exp(-1) fails at k = 4' },
    { gamma: rational(2n), words: [0, 1, 0, 1], expected: true, why: 'both win at k = 3 and the remainder 0 needs no word' },
    { gamma: rational(5n, 2n), words: [0, 1, 0, 1, 1], expected: true, why: 'two exp(-1) wins, then exp(-1/2) fails uniformBelow(2) < 1 at k = 1' },
    {
      gamma: rational(5n, 2n),
      words: [0, 1, 0, 1, 2, 1],
      expected: false,
      why: 'two exp(-1) wins, then exp(-1/2) passes uniformBelow(2) < 1 and fails uniformBelow(4) < 1',
    },
  ])('γ > 1 multiplies exp(-1) trials by exp(-(γ - ⌊γ⌋)): γ = $gamma.num/$gamma.den, $why', async ({ gamma, words, expected }) => {
    expect(await withWords(words, (s) => s.sampleBernoulliExp(gamma))).toEqual({ value: expected, consumed: words.length });
  });

  it('refuses γ < 0', async () => {
    await expect(withWords([], (s) => s.sampleBernoulliExp(rational(-1n, 3n)))).rejects.toMatchObject(refusal('Bernoulli(exp(-γ)) needs γ ≥ 0, got -1/3'));
  });
});

/** A run for withWords: `draws` samples from one sampler, made by `make` from the fresh module. */
function drawing(make: (s: Samplers) => () => bigint, draws: number) {
  return (s: Samplers) => {
    const sample = make(s);
    return Array.from({ length: draws }, () => sample());
  };
}

const laplace = (scale: Rational, draws = 1) => drawing((s) => s.makeDiscreteLaplaceSampler(scale), draws);
const gaussian = (sigma2: Rational, draws = 1) => drawing((s) => s.makeDiscreteGaussianSampler(sigma2), draws);

describe('discrete Laplace', () => {
  // Scale t/s: u = uniformBelow(t) accepted with exp(-u/t), v counted by exp(-1) wins (a win is [0, 1]: k = 2 passes,
  // k = 3 fails; a loss is [1]), magnitude ⌊(u + t·v)/s⌋, and the sign is the next bit (its first use reads a word).
  it.each([
    { scale: rational(1n), words: [0, 1, 0], expected: 0n, why: 'v = 0 and a positive sign' },
    { scale: rational(1n), words: [0, 0, 1, 0, 1, 1, 0], expected: 2n, why: 'v = 2' },
    { scale: rational(1n), words: [0, 1, 3, 0, 0, 1, 1], expected: -1n, why: 'a "-0" rejected, then v = 1 with the second bit of the sign word' },
    { scale: rational(3n, 2n), words: [1, 1, 0, 1, 1, 0], expected: 2n, why: 'u = 1 accepted (uniformBelow(3) < 1 fails), v = 1: ⌊4/2⌋' },
    { scale: rational(3n, 2n), words: [0, 0, 1, 0, 1, 1, 1], expected: -3n, why: 'u = 0, v = 2: -⌊6/2⌋' },
    {
      scale: rational(3n, 2n),
      // u = 2 rejected by exp(-2/3) (uniformBelow(3) < 2 passes, uniformBelow(6) < 2 fails); u = 1, v = 0 gives
      // ⌊1/2⌋ = 0 with sign bit 1, a "-0"; u = 1, v = 1 gives 2 with the next bit, 0.
      words: [2, 0, 4, 1, 1, 1, 1, 1, 1, 0, 1, 1],
      expected: 2n,
      why: 'a rejected u and a "-0" before 2',
    },
  ])('scale $scale.num/$scale.den: $why', async ({ scale, words, expected }) => {
    expect(await withWords(words, laplace(scale))).toEqual({ value: [expected], consumed: words.length });
  });

  it('takes 32 signs from one word, least significant bit first, then reads the next word', async () => {
    const magnitudeOne = [0, 0, 1, 1];
    const words = [...magnitudeOne, 0x80000001, ...Array.from({ length: 31 }, () => magnitudeOne).flat(), ...magnitudeOne, 1];
    const expected = [-1n, ...Array.from({ length: 30 }, () => 1n), -1n, -1n];
    expect(await withWords(words, laplace(rational(1n), 33))).toEqual({ value: expected, consumed: 134 });
  });

  it.each([
    [rational(0n), 'discrete Laplace needs a scale > 0, got 0/1'],
    [rational(-3n, 2n), 'discrete Laplace needs a scale > 0, got -3/2'],
  ])('refuses a scale ≤ 0: %o', async (scale, message) => {
    await expect(withWords([], laplace(scale))).rejects.toMatchObject(refusal(message));
  });
});

describe('discrete Gaussian', () => {
  // The proposal is Laplace(t, 1) with t = ⌊√⌊σ²⌋⌋ + 1: the words [0, 0, 1, 1, 0] give u = 0, v = 1 and a positive
  // sign, so y = t. It is accepted with exp(-offset²/(2·n·d·t²)), offset = y·d·t - n, whose first trial
  // uniformBelow(2·n·d·t²) < offset² fails on the word offset².
  it.each([
    // ⌊σ²⌋ = 0, so t = 1: offset 1·2·1 - 1 = 1.
    { sigma2: rational(1n, 2n), t: 1n, offsetSquared: 1 },
    // √2 rounds down to 1: offset 2·1·2 - 2 = 2.
    { sigma2: rational(2n), t: 2n, offsetSquared: 4 },
    // ⌊3.99⌋ = 3, so t = 2 (σ² rounded to 4 would give 3): offset 2·100·2 - 399 = 1.
    { sigma2: rational(399n, 100n), t: 2n, offsetSquared: 1 },
    // A perfect square: offset 3·1·3 - 4 = 5.
    { sigma2: rational(4n), t: 3n, offsetSquared: 25 },
  ])('proposes from a Laplace of integer scale t = ⌊√⌊σ²⌋⌋ + 1: σ² = $sigma2.num/$sigma2.den gives t = $t', async ({ sigma2, t, offsetSquared }) => {
    const words = [0, 0, 1, 1, 0, offsetSquared];
    expect(await withWords(words, gaussian(sigma2))).toEqual({ value: [t], consumed: words.length });
  });

  it('takes the exact integer square root of a σ² far beyond 2^53: σ² = 10^40 gives t = 10^20 + 1', async () => {
    // u = 10^20 = t - 1 (three words, 67 bits) is accepted by exp(-u/t) when uniformBelow(t) reads 10^20 again, and
    // with v = 1, y = u + t. offset = y·t - 10^40 = 10^40 + 3·10^20 + 1; its square lies between 0x35f·2^256 and
    // 0x360·2^256, and 2·10^40·t² (267 bits: nine words) above 0x6bf·2^256, so 0x400·2^256 fails the first trial.
    const tenTo20 = [5, 0x6bc75e2d, 0x63100000];
    const words = [...tenTo20, ...tenTo20, 0, 1, 1, 0, 0x400, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(await withWords(words, gaussian(rational(10n ** 40n)))).toEqual({ value: [2n * 10n ** 20n + 1n], consumed: 19 });
  });

  it('rejects a proposal whose acceptance trial fails at an even k, and accepts |y|, not y, into the offset', async () => {
    // σ² = 4, t = 3: y = ±3 gives offset 3·3 - 4 = 5 and acceptance exp(-25/72). First y = 3 (sign bit 0 of the word
    // 2): uniformBelow(72) < 25 passes on 24, uniformBelow(144) < 25 fails on 25, k = 2 rejects. Then y = -3 (sign
    // bit 1): the trial fails on 25 at k = 1, which accepts.
    const words = [0, 0, 1, 1, 2, 24, 25, 0, 0, 1, 1, 25];
    expect(await withWords(words, gaussian(rational(4n)))).toEqual({ value: [-3n], consumed: words.length });
  });

  it.each([
    [rational(0n), 'discrete Gaussian needs σ² > 0, got 0/1'],
    [rational(-1n, 2n), 'discrete Gaussian needs σ² > 0, got -1/2'],
  ])('refuses σ² ≤ 0: %o', async (sigma2, message) => {
    await expect(withWords([], gaussian(sigma2))).rejects.toMatchObject(refusal(message));
  });
});
