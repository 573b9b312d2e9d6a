/**
 * The plan of a demo data set: how many rows of each kind, where each customer's account and claim
 * numbers start, and how active each customer is. It is a pure function of (seed, scale) and holds a few
 * numbers per customer, so any chunk of any table can be generated from it independently.
 */
import { ACCOUNT_KINDS, generateAccounts, MAX_ACCOUNTS_PER_CUSTOMER } from './accounts.ts';
import { dateSeconds } from './calendar.ts';
import { claimCount } from './health-claims.ts';
import { customerProfile } from './people.ts';
import { DEFAULT_DEMO_SEED, rngFor, streamId } from './random.ts';

export const CUSTOMERS_PER_SCALE = 10_000;
export const TRANSACTIONS_PER_SCALE = 100_000;
export const CUSTOMERS_PER_EMPLOYEE = 50;
export const MIN_EMPLOYEES = 200;

export interface DemoPlan {
  seed: number;
  scale: number;
  customers: number;
  accounts: number;
  transactions: number;
  healthClaims: number;
  employees: number;
  /** accountOffsets[i] = accounts held by customers before customer i; the last entry is the total. */
  accountOffsets: Int32Array;
  /** Per account (id − 1): index into ACCOUNT_KINDS, and the opening day as epoch seconds. */
  accountKind: Uint8Array;
  accountOpenedAt: Float64Array;
  claimOffsets: Int32Array;
  /** Running sum of the customers' activity weights: a transaction picks its customer from it. */
  activity: Float64Array;
}

export interface PlanOptions {
  scale?: number;
  seed?: number;
}

export class DemoScaleError extends Error {
  constructor(scale: number) {
    super(`Demo scale must be a positive number giving at least one customer, got ${scale}`);
    this.name = 'DemoScaleError';
  }
}

const ACTIVITY_STREAM = streamId('customer.activity');

/**
 * Log-normal activity (σ = 1.2) makes most customers light users and a few heavy ones with hundreds of
 * transactions; business customers transact three times as much.
 */
function activityWeight(seed: number, index: number, business: boolean): number {
  return rngFor(seed, ACTIVITY_STREAM, index).logNormal(1, 1.2) * (business ? 3 : 1);
}

export function planDemo(options: PlanOptions = {}): DemoPlan {
  const scale = options.scale ?? 1;
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const customers = Math.round(CUSTOMERS_PER_SCALE * scale);
  if (!Number.isFinite(scale) || customers < 1) throw new DemoScaleError(scale);
  const accountOffsets = new Int32Array(customers + 1);
  const accountKind = new Uint8Array(customers * MAX_ACCOUNTS_PER_CUSTOMER);
  const accountOpenedAt = new Float64Array(customers * MAX_ACCOUNTS_PER_CUSTOMER);
  const claimOffsets = new Int32Array(customers + 1);
  const activity = new Float64Array(customers);
  let runningActivity = 0;
  for (let i = 0; i < customers; i++) {
    const profile = customerProfile(seed, i);
    const accounts = generateAccounts(seed, i, accountOffsets[i]! + 1, profile);
    for (const account of accounts) {
      accountKind[account.id - 1] = ACCOUNT_KINDS.indexOf(account.kind);
      accountOpenedAt[account.id - 1] = dateSeconds(account.opened_on);
    }
    accountOffsets[i + 1] = accountOffsets[i]! + accounts.length;
    claimOffsets[i + 1] = claimOffsets[i]! + claimCount(seed, i);
    runningActivity += activityWeight(seed, i, profile.segment === 'business');
    activity[i] = runningActivity;
  }
  return {
    seed,
    scale,
    customers,
    accounts: accountOffsets[customers]!,
    transactions: Math.round(TRANSACTIONS_PER_SCALE * scale),
    healthClaims: claimOffsets[customers]!,
    employees: Math.max(MIN_EMPLOYEES, Math.round(customers / CUSTOMERS_PER_EMPLOYEE)),
    accountOffsets,
    accountKind: accountKind.slice(0, accountOffsets[customers]),
    accountOpenedAt: accountOpenedAt.slice(0, accountOffsets[customers]),
    claimOffsets,
    activity,
  };
}

/** The customer index whose activity interval holds u ∈ [0, 1) (binary search over the running sum). */
export function customerAt(plan: DemoPlan, u: number): number {
  const target = u * plan.activity[plan.customers - 1]!;
  let low = 0;
  let high = plan.customers - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (plan.activity[middle]! > target) high = middle;
    else low = middle + 1;
  }
  return low;
}
