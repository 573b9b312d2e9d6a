import { describe, expect, it } from 'vitest';
import { budgetFigure, epsilonRemaining, periodResetsOn } from '../../src/dp/budget-figures.ts';

describe('budget figures', () => {
  it('rounds off the noise binary composition leaves, and only that', () => {
    expect(budgetFigure(0.7 + 0.6)).toBe(1.3);
    expect(budgetFigure(0.1 + 0.2)).toBe(0.3);
    expect(budgetFigure(1e-7)).toBe(1e-7);
    expect(budgetFigure(0.123456789012)).toBe(0.123456789012);
    expect(budgetFigure(Infinity)).toBe(Infinity);
  });

  it('subtracts on the decimals the figures print as, never below zero', () => {
    expect(epsilonRemaining(2, 0.7 + 0.6)).toBe(0.7);
    expect(epsilonRemaining(1, 0.9)).toBe(0.1);
    expect(epsilonRemaining(1, 1.5)).toBe(0);
    expect(epsilonRemaining(1, Infinity)).toBe(0);
  });

  it('names the first day of the next period', () => {
    expect(periodResetsOn('2026-11')).toBe('2026-12-01');
    expect(periodResetsOn('2026-12')).toBe('2027-01-01');
    expect(periodResetsOn('2026-12-31')).toBe('2027-01-01');
    expect(periodResetsOn('2024-02-28')).toBe('2024-02-29');
    expect(periodResetsOn('2026')).toBe('2027-01-01');
  });
});
