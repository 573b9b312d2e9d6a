import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAD_TO_SIGMA, robustSummary, robustZ, spreadOf, valueLimit } from '../../src/agent-controls/baselines/robust.ts';

const DEFAULT_Z = 8;
const counts = (min = 1) => fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: min, maxLength: 300 });

describe('robust baseline statistics (median and MAD)', () => {
  it('summarises by median and median absolute deviation', () => {
    expect(robustSummary([1, 2, 3, 4, 100])).toEqual({ median: 3, mad: 1, n: 5 });
    // Even counts take the mean of the two middle values, for the median and for the deviations' median.
    expect(robustSummary([1, 2, 3, 4])).toEqual({ median: 2.5, mad: 1, n: 4 });
    expect(robustSummary([])).toEqual({ median: 0, mad: 0, n: 0 });
  });

  it('is not moved by the outliers it summarises: one harvest in the baseline does not widen it', () => {
    const normal = Array.from({ length: 99 }, (_, i) => 3 + (i % 5));
    const withOutlier = [...normal, 5000];
    expect(robustSummary(withOutlier).median).toBe(robustSummary(normal).median);
    expect(robustSummary(withOutlier).mad).toBe(robustSummary(normal).mad);
  });

  it('scores in robust standard deviations: (value − median) / (1.4826 × MAD)', () => {
    const summary = { median: 10, mad: 4, n: 50 };
    expect(robustZ(10 + 4 * MAD_TO_SIGMA * 3, summary, 1)).toBeCloseTo(3, 12);
    expect(valueLimit(summary, 1, DEFAULT_Z)).toBeCloseTo(10 + DEFAULT_Z * MAD_TO_SIGMA * 4, 12);
  });

  it('floors the spread: a constant baseline does not alarm on one more, and a large median on a tenth more', () => {
    const constant = robustSummary(Array(200).fill(20));
    expect(constant.mad).toBe(0);
    expect(spreadOf(constant, 1)).toBe(2);
    expect(robustZ(21, constant, 1)).toBeLessThan(1);
    const ones = robustSummary(Array(200).fill(1));
    expect(spreadOf(ones, 1)).toBe(1);
    expect(robustZ(2, ones, 1)).toBeCloseTo(1 / MAD_TO_SIGMA, 12);
    // 50 rows against a constant 1 is a harvest, however small the spread.
    expect(robustZ(50, ones, 1)).toBeGreaterThan(DEFAULT_Z);
  });

  it('never alarms on a value at or below the median', () => {
    fc.assert(
      fc.property(counts(), fc.integer({ min: 0, max: 100_000 }), (values, value) => {
        const summary = robustSummary(values);
        fc.pre(value <= summary.median);
        expect(robustZ(value, summary, 1)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('never alarms on a value inside a baseline spanning at most 11 (a page size that varies from 1 to 12)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 300 }), (low, offsets) => {
        const values = offsets.map((offset) => low + offset);
        const summary = robustSummary(values);
        for (const value of values) expect(robustZ(value, summary, 1)).toBeLessThanOrEqual(DEFAULT_Z);
      }),
    );
  });

  it('never alarms on a value inside a baseline whose values lie within a factor of two', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (low, shares) => {
          const values = shares.map((share) => low * (1 + share));
          const summary = robustSummary(values);
          for (const value of values) expect(robustZ(value, summary, 1)).toBeLessThanOrEqual(DEFAULT_Z);
        },
      ),
    );
  });

  it('scores higher the further out, and does not depend on the order of the baseline', () => {
    fc.assert(
      fc.property(counts(), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (values, value, more) => {
        const summary = robustSummary(values);
        expect(robustZ(value + more, summary, 1)).toBeGreaterThan(robustZ(value, summary, 1));
        expect(robustSummary([...values].reverse())).toEqual(summary);
      }),
    );
  });

  it('alarms exactly past the value limit it reports', () => {
    fc.assert(
      fc.property(counts(), fc.double({ min: 2, max: 50, noNaN: true }), (values, z) => {
        const summary = robustSummary(values);
        const limit = valueLimit(summary, 1, z);
        expect(robustZ(limit + 1e-6 * Math.max(1, limit), summary, 1)).toBeGreaterThan(z);
        expect(robustZ(limit - 1e-6 * Math.max(1, limit), summary, 1)).toBeLessThan(z);
      }),
    );
  });
});
