/**
 * Every parameter a mechanism accepts gives an answer in bounded time; the others are refused with
 * PrivacyParameterError (which callers turn into a 400). Each case runs in a worker thread that is
 * terminated after a time budget: a synchronous hang would block a test's own timer, never firing it.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

const BUDGET_MS = 10_000;
const DP = new URL('../../src/dp/', import.meta.url).href;

/** Runs `body` (with the dp modules in scope as `m`) in a worker: 'ok', the error's name, or 'timeout'. */
function runBounded(body: string): Promise<string> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    (async () => {
      const m = Object.assign({}, ...(await Promise.all(['mechanisms', 'partition-selection', 'quantile', 'rational', 'samplers']
        .map((name) => import(${JSON.stringify(DP)} + name + '.ts')))));
      try { ${body}; parentPort.postMessage('ok'); } catch (error) { parentPort.postMessage(error.name); }
    })();`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    const timer = setTimeout(() => void worker.terminate().then(() => resolve('timeout')), BUDGET_MS);
    worker.once('message', (outcome: string) => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(outcome));
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const laplace = (sensitivity: string, epsilon: string) =>
  `const x = m.makeDiscreteLaplace({ sensitivity: ${sensitivity}, epsilon: ${epsilon} }); for (let i = 0; i < 200; i++) x.interval(x.release(0n), 0.95)`;
const gaussian = (sensitivity: string, rho: string) =>
  `const x = m.makeDiscreteGaussian({ sensitivity: ${sensitivity}, rho: ${rho} }); for (let i = 0; i < 200; i++) x.interval(x.release(0n), 0.95)`;
const partition = (k: number, epsilon: string, delta: string) =>
  `const s = m.makePartitionSelection({ maxRowsPerSubject: ${k}, epsilon: ${epsilon}, delta: ${delta} });
   for (let i = 0; i < 200; i++) { const d = s.select(1n); s.interval(d.keep ? d.noisyCount : s.threshold, 0.95) }`;
const quantile = (epsilon: string) =>
  `const q = m.makeQuantile({ lower: 0, upper: 1e300, bins: 100, quantile: 0.5, epsilon: ${epsilon}, maxContributionsPerSubject: 100 });
   for (let i = 0; i < 20; i++) q.release(Array.from({ length: 100 }, (_, j) => j * 1000))`;

describe.concurrent('mechanisms at extreme parameters', () => {
  it.each([
    ['Laplace, ε = 1e-300 (noise scale past 1e150)', laplace('1', '1e-300'), 'PrivacyParameterError'],
    ['Laplace, ε = 1e-60', laplace('1', '1e-60'), 'ok'],
    ['Laplace, ε = 1e-30', laplace('1', '1e-30'), 'ok'],
    ['Laplace, ε = 1e-6', laplace('1', '1e-6'), 'ok'],
    ['Laplace, ε = 1e6', laplace('1', '1e6'), 'ok'],
    ['Laplace, ε = 1e300', laplace('1', '1e300'), 'ok'],
    ['Laplace, sensitivity 1e100 at ε = 1e-30 (HE noise on a huge bound)', laplace('10n ** 100n', '1e-30'), 'ok'],
    ['Gaussian, ρ = 1e-305 (σ past 1e150)', gaussian('1', '1e-305'), 'PrivacyParameterError'],
    ['Gaussian, ρ = 1e-250 (σ² ≈ 5e249: the old integer square root walked 1e109 steps)', gaussian('1', '1e-250'), 'ok'],
    ['Gaussian, ρ = 1e-60', gaussian('1', '1e-60'), 'ok'],
    ['Gaussian, ρ = 1e-6', gaussian('1', '1e-6'), 'ok'],
    ['Gaussian, ρ = 1e6', gaussian('1', '1e6'), 'ok'],
    ['Gaussian, sensitivity 1e60 at ρ = 1e-30', gaussian('10n ** 60n', '1e-30'), 'ok'],
    ['partition selection, ε = 1e-300', partition(1, '1e-300', '1e-6'), 'PrivacyParameterError'],
    ['partition selection, ε = 1e-30, k = 100', partition(100, '1e-30', '1e-6'), 'ok'],
    ['partition selection, ε = 1e-6, δ = 1e-300', partition(10, '1e-6', '1e-300'), 'ok'],
    ['partition selection, ε = 1e6, δ = 0.49', partition(100, '1e6', '0.49'), 'ok'],
    ['quantile, ε = 1e-300', quantile('1e-300'), 'ok'],
    ['quantile, ε = 1e-30', quantile('1e-30'), 'ok'],
    ['quantile, ε = 1e6', quantile('1e6'), 'ok'],
    ['quantile, ε = 5e-324 (rank error not finite)', quantile('5e-324'), 'PrivacyParameterError'],
    ['Gaussian sampler, σ² = 10^600', 'const s = m.makeDiscreteGaussianSampler(m.rational(10n ** 600n)); for (let i = 0; i < 200; i++) s()', 'ok'],
    ['Laplace sampler, scale 10^-400', 'const s = m.makeDiscreteLaplaceSampler(m.rational(1n, 10n ** 400n)); for (let i = 0; i < 200; i++) s()', 'ok'],
    ['Bernoulli(exp(-10^300))', 'for (let i = 0; i < 200; i++) m.sampleBernoulliExp(m.rational(10n ** 300n))', 'ok'],
  ])(
    '%s',
    async (_, body, outcome) => {
      expect(await runBounded(body)).toBe(outcome);
    },
    BUDGET_MS + 5_000,
  );
});
