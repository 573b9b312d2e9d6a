/**
 * What one query may spend, at the exact edges of the policy's range, and how a refusal reaches the agent:
 * the code is the contract (README, error codes), the message names the range.
 */
import { describe, expect, it } from 'vitest';
import type { PrivacyConfig } from '../../src/config/index.ts';
import { admitPrivacySpend, asPrivacyRefusal, chargeRelease } from '../../src/dp/admission.ts';
import { AggregateRequestError } from '../../src/dp/aggregate-plan.ts';
import { BudgetExhaustedError, BudgetLedger } from '../../src/dp/ledger.ts';
import { PrivacyParameterError } from '../../src/dp/rational.ts';
import type { RequestPrivacySpend } from '../../src/dp/request-spend.ts';
import type { Queryable } from '../../src/sql/index.ts';

const privacy: PrivacyConfig = {
  period: 'month',
  dataset: { epsilon: 10, delta: 1e-5 },
  agents: {
    'analytics-bot': { epsilon: 5, delta: 1e-6, minEpsilonPerQuery: 0.01, maxEpsilonPerQuery: 2, minDeltaPerQuery: 1e-10, maxDeltaPerQuery: 1e-7 },
  },
};
const ledger = new BudgetLedger(privacy, 'demo');

const codeOf = (step: () => unknown): string | null => {
  try {
    step();
    return null;
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code ?? `thrown ${String(error)}`;
  }
};
const admit =
  (epsilon: number, delta: number, agent = 'analytics-bot') =>
  () =>
    admitPrivacySpend(ledger, {}, agent, epsilon, delta);

describe('admitPrivacySpend', () => {
  it.each([
    [0.01, 0, null],
    [2, 0, null],
    [0.009999, 0, 'PRIVACY_LIMIT_EXCEEDED'],
    [2.000001, 0, 'PRIVACY_LIMIT_EXCEEDED'],
    [1, 1e-10, null],
    [1, 1e-7, null],
    [1, 0.99e-10, 'PRIVACY_LIMIT_EXCEEDED'],
    [1, 1.01e-7, 'PRIVACY_LIMIT_EXCEEDED'],
    [2.000001, 1e-8, 'PRIVACY_LIMIT_EXCEEDED'],
    [1, 1, 'PRIVACY_LIMIT_EXCEEDED'],
    [0, 0, 'INVALID_ARGUMENT'],
    [-1, 0, 'INVALID_ARGUMENT'],
    [Number.NaN, 0, 'INVALID_ARGUMENT'],
    [1, -1e-9, 'INVALID_ARGUMENT'],
    [1, 1.5, 'INVALID_ARGUMENT'],
  ])('ε = %s, δ = %s → %s', (epsilon, delta, code) => {
    expect(codeOf(admit(epsilon, delta))).toBe(code);
  });

  it('names the whole range in its refusal', () => {
    expect(() => admit(5, 0)()).toThrow('This query asks ε = 5 and δ = 0; each query may spend 0.01 ≤ ε ≤ 2 and δ = 0 or 1e-10 ≤ δ ≤ 1e-7.');
  });

  it('refuses an agent without a budget, and any agent without a ledger, as BUDGET_NOT_DECLARED', () => {
    expect(codeOf(admit(1, 0, 'support-bot'))).toBe('BUDGET_NOT_DECLARED');
    expect(codeOf(() => admitPrivacySpend(null, {}, 'analytics-bot', 1, 0))).toBe('BUDGET_NOT_DECLARED');
  });

  it("returns the request's one spend: two releases of a request compose, another request starts afresh", () => {
    const request = {};
    const first = admitPrivacySpend(ledger, request, 'analytics-bot', 1, 0);
    expect(admitPrivacySpend(ledger, request, 'analytics-bot', 0.5, 0)).toBe(first);
    expect(admitPrivacySpend(ledger, {}, 'analytics-bot', 0.5, 0)).not.toBe(first);
    expect(first.agentId).toBe('analytics-bot');
  });
});

describe('chargeRelease', () => {
  const tx = {} as Queryable;
  const spendThat = (charge: () => Promise<never>): RequestPrivacySpend =>
    ({
      charge,
      refusalMessage: () => 'over budget: nothing released',
      refusalExtensions: () => ({ epsilonRemaining: 0, resetsOn: '2027-01-01' }),
    }) as unknown as RequestPrivacySpend;

  it('turns an exhausted budget into BUDGET_EXHAUSTED with the spend’s own message', async () => {
    const exhausted = spendThat(async () => {
      throw new BudgetExhaustedError('agent:analytics-bot', 6, {
        scope: 'agent:analytics-bot',
        period: '2026-12',
        epsilonLimit: 5,
        deltaLimit: 1e-6,
        epsilonSpent: 0,
        deltaSpent: 0,
        queries: 0,
      });
    });
    await expect(chargeRelease(exhausted, tx, {} as never)).rejects.toMatchObject({
      message: 'over budget: nothing released',
      extensions: { code: 'BUDGET_EXHAUSTED', epsilonRemaining: 0, resetsOn: '2027-01-01' },
    });
  });

  it('lets any other failure (a database error) through unchanged', async () => {
    const failure = new Error('connection lost');
    await expect(
      chargeRelease(
        spendThat(async () => Promise.reject(failure)),
        tx,
        {} as never,
      ),
    ).rejects.toBe(failure);
  });
});

describe('asPrivacyRefusal', () => {
  it('makes parameter errors the agent can fix INVALID_ARGUMENT with their message, and passes anything else', () => {
    for (const error of [new AggregateRequestError('bad groupBy'), new PrivacyParameterError('ε too small')]) {
      expect(() =>
        asPrivacyRefusal(() => {
          throw error;
        }),
      ).toThrow(expect.objectContaining({ message: error.message, extensions: expect.objectContaining({ code: 'INVALID_ARGUMENT' }) }));
    }
    const other = new TypeError('bug');
    expect(() =>
      asPrivacyRefusal(() => {
        throw other;
      }),
    ).toThrow(other);
    expect(asPrivacyRefusal(() => 42)).toBe(42);
  });
});
