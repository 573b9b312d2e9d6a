import { describe, expect, it } from 'vitest';
import {
  NO_COST,
  addComposed,
  addCost,
  checkBudget,
  composeCosts,
  epsilonAt,
  pureToZcdp,
  rhoForEpsilon,
  zcdpToEpsilon,
  zcdpToEpsilonBunSteinke,
  zcdpToEpsilonCks,
} from '../../src/dp/accountant.ts';
import { PrivacyParameterError } from '../../src/dp/rational.ts';

// CKS values: the infimum over α found to 30 digits with mpmath (derivative root).
const CKS_RHO_05_DELTA_1E6 = 5.221534444530169;
const CKS_RHO_001_DELTA_1E6 = 0.6216926545596025;
const CKS_RHO_001_DELTA_5E7 = 0.6429382710202017;
const CKS_RHO_051_DELTA_1E6 = 5.280369681442358;
const CKS_RHO_2_DELTA_1E5 = 10.72482411293917;

describe('composition', () => {
  it('adds pure, approximate and zCDP costs separately', () => {
    const total = composeCosts([{ epsilon: 0.5, delta: 0 }, { epsilon: 0.25, delta: 0 }, { epsilon: 1, delta: 1e-6 }, { rho: 0.1 }, { rho: 0.4 }]);
    expect(total.pureEpsilon).toBeCloseTo(0.75, 15);
    expect(total.pureRho).toBeCloseTo(0.125 + 0.03125, 15);
    expect(total.approxEpsilon).toBe(1);
    expect(total.approxDelta).toBe(1e-6);
    expect(total.rho).toBeCloseTo(0.5, 15);
    expect(addCost(NO_COST, { rho: 0.2 })).toEqual({ ...NO_COST, rho: 0.2 });
  });

  it('adds two composed totals component by component', () => {
    const a = composeCosts([{ epsilon: 0.5, delta: 0 }, { epsilon: 1, delta: 1e-6 }, { rho: 0.1 }]);
    const b = composeCosts([{ epsilon: 0.25, delta: 0 }, { epsilon: 2, delta: 3e-6 }, { rho: 0.3 }]);
    expect(addComposed(a, b)).toEqual({ pureEpsilon: 0.75, pureRho: 0.125 + 0.03125, approxEpsilon: 3, approxDelta: 4e-6, rho: 0.1 + 0.3 });
  });

  it('names the parameter a refused cost or budget got wrong', () => {
    expect(() => addCost(NO_COST, { rho: -1 })).toThrow(new PrivacyParameterError('rho must be a finite number ≥ 0, got -1'));
    expect(() => addCost(NO_COST, { epsilon: -1, delta: 0 })).toThrow('epsilon must be a finite number ≥ 0, got -1');
    expect(() => addCost(NO_COST, { epsilon: 1, delta: Number.POSITIVE_INFINITY })).toThrow('delta must be a finite number ≥ 0, got Infinity');
    expect(() => pureToZcdp(Number.NaN)).toThrow('epsilon must be a finite number ≥ 0, got NaN');
    expect(() => checkBudget(NO_COST, { epsilon: -1, delta: 0 })).toThrow('budget epsilon must be a finite number ≥ 0, got -1');
    expect(() => checkBudget(NO_COST, { epsilon: 1, delta: -1 })).toThrow('budget delta must be a finite number ≥ 0, got -1');
    expect(() => zcdpToEpsilonBunSteinke(-1, 1e-6)).toThrow('rho must be a finite number ≥ 0, got -1');
    for (const delta of [0, 1, -1e-9]) expect(() => rhoForEpsilon(1, delta), String(delta)).toThrow(`delta must be in (0, 1), got ${delta}`);
  });

  it('refuses negative or non-finite costs', () => {
    expect(() => addCost(NO_COST, { rho: -1 })).toThrow(PrivacyParameterError);
    expect(() => addCost(NO_COST, { epsilon: Number.NaN, delta: 0 })).toThrow(PrivacyParameterError);
    expect(() => addCost(NO_COST, { epsilon: 1, delta: -1e-9 })).toThrow(PrivacyParameterError);
  });
});

describe('conversions', () => {
  it('ε-DP is ε²/2-zCDP', () => {
    expect(pureToZcdp(1)).toBe(0.5);
    expect(pureToZcdp(0.2)).toBeCloseTo(0.02, 15);
  });

  it('Bun–Steinke: ε = ρ + 2√(ρ ln(1/δ))', () => {
    // 0.5 + 2·√(0.5·13.815510557964274) = 0.5 + 2·2.628261...
    expect(zcdpToEpsilonBunSteinke(0.5, 1e-6)).toBeCloseTo(5.756521769756932, 12);
    expect(zcdpToEpsilonBunSteinke(0.01, 1e-6)).toBeCloseTo(0.7533844377699677, 12);
  });

  it('CKS 2020 finds the infimum over α and is tighter', () => {
    expect(zcdpToEpsilonCks(0.5, 1e-6)).toBeCloseTo(CKS_RHO_05_DELTA_1E6, 9);
    expect(zcdpToEpsilonCks(0.01, 1e-6)).toBeCloseTo(CKS_RHO_001_DELTA_1E6, 9);
    expect(zcdpToEpsilonCks(2, 1e-5)).toBeCloseTo(CKS_RHO_2_DELTA_1E5, 9);
    expect(zcdpToEpsilon(0.5, 1e-6)).toBeCloseTo(CKS_RHO_05_DELTA_1E6, 9);
    expect(zcdpToEpsilon(0, 1e-6)).toBe(0);
    expect(zcdpToEpsilon(0.5, 0)).toBe(Infinity);
    expect(() => zcdpToEpsilonCks(0.5, 1)).toThrow(PrivacyParameterError);
  });

  it('rhoForEpsilon inverts the conversion from below', () => {
    const rho = rhoForEpsilon(1, 1e-6);
    expect(rho).toBeCloseTo(0.02435597035953837, 9);
    expect(zcdpToEpsilon(rho, 1e-6)).toBeLessThanOrEqual(1);
    expect(zcdpToEpsilon(rho * (1 + 1e-9), 1e-6)).toBeGreaterThan(1 - 1e-9);
  });
});

describe('epsilonAt and budgets', () => {
  it('pure costs compose basically when that is tighter', () => {
    expect(epsilonAt(composeCosts([{ epsilon: 1, delta: 0 }]), 0)).toBe(1);
    // 1 + ε(0.01 at 1e-6) beats ε(0.5 + 0.01 at 1e-6).
    const mixed = composeCosts([{ epsilon: 1, delta: 0 }, { rho: 0.01 }]);
    expect(epsilonAt(mixed, 1e-6)).toBeCloseTo(1 + CKS_RHO_001_DELTA_1E6, 9);
  });

  it('many small pure costs compose better through zCDP', () => {
    // 100 × ε = 0.1: basic gives 10; as zCDP ρ = 100·0.005 = 0.5 gives 5.2215 at δ = 1e-6.
    const total = composeCosts(Array.from({ length: 100 }, () => ({ epsilon: 0.1, delta: 0 })));
    expect(epsilonAt(total, 1e-6)).toBeCloseTo(CKS_RHO_05_DELTA_1E6, 6);
    expect(epsilonAt(total, 0)).toBeCloseTo(10, 12);
    const withRho = addCost(total, { rho: 0.01 });
    expect(epsilonAt(withRho, 1e-6)).toBeCloseTo(CKS_RHO_051_DELTA_1E6, 6);
  });

  it('approximate costs use up δ before the zCDP part converts', () => {
    const total = composeCosts([{ epsilon: 1, delta: 5e-7 }, { rho: 0.01 }]);
    expect(epsilonAt(total, 1e-6)).toBeCloseTo(1 + CKS_RHO_001_DELTA_5E7, 9);
    expect(epsilonAt(total, 4e-7)).toBe(Infinity);
  });

  it('refuses a δ-only total whose δ exceeds the budget’s, from just past its exact boundary', () => {
    // No zCDP part: nothing else turns the overspent δ into an infinite ε.
    const total = composeCosts([{ epsilon: 1, delta: 5e-7 }]);
    expect(epsilonAt(total, 5e-7)).toBe(1);
    expect(epsilonAt(total, 5e-7 / (1 + 1e-10))).toBe(1);
    expect(epsilonAt(total, 5e-7 / (1 + 1e-8))).toBe(Infinity);
    expect(epsilonAt(total, 4e-7)).toBe(Infinity);
    expect(checkBudget(total, { epsilon: 10, delta: 4e-7 })).toEqual({ withinBudget: false, epsilon: Infinity, delta: 4e-7 });
    expect(checkBudget(total, { epsilon: 1, delta: 5e-7 }).withinBudget).toBe(true);
  });

  it('certifies ε = 0 for no zCDP cost even at δ = 0', () => {
    expect(zcdpToEpsilon(0, 0)).toBe(0);
    expect(zcdpToEpsilonCks(0, 1e-6)).toBe(0);
    expect(zcdpToEpsilon(1e-9, 0)).toBe(Infinity);
  });

  it('fits a total exactly at the budget’s tolerance, and nothing above it', () => {
    const atTolerance = 0.3 * (1 + 1e-9);
    expect(checkBudget(composeCosts([{ epsilon: atTolerance, delta: 0 }]), { epsilon: 0.3, delta: 0 }).withinBudget).toBe(true);
    expect(checkBudget(composeCosts([{ epsilon: atTolerance * (1 + 1e-12), delta: 0 }]), { epsilon: 0.3, delta: 0 }).withinBudget).toBe(false);
  });

  it('checks a total against a budget', () => {
    const spent = composeCosts([
      { epsilon: 0.1, delta: 0 },
      { epsilon: 0.2, delta: 0 },
    ]);
    expect(checkBudget(spent, { epsilon: 0.3, delta: 0 })).toEqual({ withinBudget: true, epsilon: 0.1 + 0.2, delta: 0 });
    expect(checkBudget(addCost(spent, { epsilon: 1e-3, delta: 0 }), { epsilon: 0.3, delta: 0 }).withinBudget).toBe(false);
    expect(checkBudget(composeCosts([{ rho: 0.01 }]), { epsilon: 1, delta: 0 }).withinBudget).toBe(false);
    expect(checkBudget(composeCosts([{ rho: 0.01 }]), { epsilon: 1, delta: 1e-6 }).withinBudget).toBe(true);
    expect(checkBudget(composeCosts([{ rho: 0.03 }]), { epsilon: 1, delta: 1e-6 }).withinBudget).toBe(false);
  });
});
