/**
 * The interval of a count released by partition selection, against the definition computed here from the
 * discrete Laplace's tail: the lower end is the smallest count c ≥ 1 under which a noisy count this large is
 * not in the top (1 − confidence)/2 of what a released group of count c shows. The sampled coverage test
 * cannot tell an interval that is merely wider; this pins it.
 */
import { describe, expect, it } from 'vitest';
import { makeDiscreteLaplace } from '../../src/dp/mechanisms.ts';
import { makePartitionSelection } from '../../src/dp/partition-selection.ts';

/** P[Z ≥ m] for the discrete Laplace of scale b: a^m/(1+a) for m ≥ 0, and 1 − P[Z ≥ 1 − m] below. */
function atLeast(b: number, m: number): number {
  const a = Math.exp(-1 / b);
  return m >= 0 ? a ** m / (1 + a) : 1 - a ** (1 - m) / (1 + a);
}

function lowerByDefinition(b: number, tau: number, y: number, confidence: number): number {
  const tail = (1 - confidence) / 2;
  for (let c = 1; ; c++) if (atLeast(b, y - c) / atLeast(b, tau - c) > tail) return c;
}

describe('the interval of a count released by partition selection', () => {
  it.each([
    [1, 1, 1e-6],
    [3, 0.5, 1e-9],
    [1, 2, 1e-5],
  ])('k = %s, ε = %s, δ = %s: lower end by the definition, upper end the noise’s half-width above', (k, epsilon, delta) => {
    const selection = makePartitionSelection({ maxRowsPerSubject: k, epsilon, delta });
    const tau = Number(selection.threshold);
    const b = Number(selection.scale.num) / Number(selection.scale.den);
    for (const confidence of [0.9, 0.95]) {
      for (const y of [tau, tau + 1, tau + 5, tau + 40]) {
        const { lower, upper } = selection.interval(BigInt(y), confidence);
        expect(Number(lower), `y = ${y}, ${confidence}`).toBe(lowerByDefinition(b, tau, y, confidence));
        expect(Number(upper) - y).toBe(makeDiscreteLaplace({ sensitivity: k, epsilon }).noise.halfWidth(confidence));
      }
    }
  });
});
