/**
 * Accounts and policies: 1–3 per customer, the first always a current account, in the currency of the
 * customer's residency. Balances stay within the catalog bounds [-50000, 500000].
 */
import { DEMO_TIME, isoDate, secondBetween, startOfDay } from './calendar.ts';
import { LOCALES } from './jurisdictions.ts';
import { formatCents, toCents } from './money.ts';
import { type CustomerProfile, customerProfile, type Segment } from './people.ts';
import { type Rng, rngFor, streamId } from './random.ts';

export const ACCOUNT_KINDS = ['current', 'savings', 'credit', 'insurance'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export interface AccountRow {
  id: number;
  customer_id: number;
  kind: AccountKind;
  currency: string;
  balance: string;
  opened_on: string;
}

export const BALANCE_BOUNDS = [-50_000, 500_000] as const;
/** Customer index × this + ordinal keys an account's stream: room for every ordinal. */
export const MAX_ACCOUNTS_PER_CUSTOMER = 3;
const COUNT_STREAM = streamId('account.count');
const ACCOUNT_STREAM = streamId('account');
const YEAR = 365 * 86_400;

const SEGMENT_WEALTH: Readonly<Record<Segment, number>> = { retail: 1, premier: 4, business: 6 };

/** How many accounts customer `index` holds. */
function accountCount(seed: number, customerIndex: number): number {
  const u = rngFor(seed, COUNT_STREAM, customerIndex).float();
  return u < 0.45 ? 1 : u < 0.8 ? 2 : 3;
}

function balanceCents(rng: Rng, kind: AccountKind, segment: Segment): number {
  const wealth = SEGMENT_WEALTH[segment];
  const [min, max] = BALANCE_BOUNDS;
  switch (kind) {
    case 'current':
      return rng.chance(0.05) ? toCents(-rng.float() * 2_000, min, max) : toCents(rng.logNormal(2_500 * wealth, 1.1), min, max);
    case 'savings':
      return toCents(rng.logNormal(15_000 * wealth, 1.2), min, max);
    case 'credit':
      return rng.chance(0.15) ? 0 : toCents(-rng.logNormal(1_200 * wealth, 1), min, max);
    case 'insurance':
      return toCents(rng.logNormal(8_000 * wealth, 0.9), min, max);
  }
}

function otherKinds(rng: Rng, count: number): AccountKind[] {
  const kinds: AccountKind[] = ['savings', 'credit', 'insurance'];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.slice(0, count);
}

/** The accounts of customer `customerIndex`, numbered from `firstAccountId`. */
export function generateAccounts(
  seed: number,
  customerIndex: number,
  firstAccountId: number,
  profile: CustomerProfile = customerProfile(seed, customerIndex),
): AccountRow[] {
  const count = accountCount(seed, customerIndex);
  const kindsRng = rngFor(seed, ACCOUNT_STREAM, customerIndex * MAX_ACCOUNTS_PER_CUSTOMER);
  const kinds: AccountKind[] = ['current', ...otherKinds(kindsRng, count - 1)];
  const currency = LOCALES[profile.residency].currency;
  return kinds.map((kind, ordinal) => {
    const rng = ordinal === 0 ? kindsRng : rngFor(seed, ACCOUNT_STREAM, customerIndex * MAX_ACCOUNTS_PER_CUSTOMER + ordinal);
    // Later products are opened within four years of joining, and before the end of the demo window.
    const openedAt =
      ordinal === 0 ? profile.createdAt : secondBetween(rng, profile.createdAt, Math.min(profile.createdAt + 4 * YEAR, DEMO_TIME.customersUntil));
    return {
      id: firstAccountId + ordinal,
      customer_id: customerIndex + 1,
      kind,
      currency,
      balance: formatCents(balanceCents(rng, kind, profile.segment)),
      opened_on: isoDate(startOfDay(openedAt)),
    };
  });
}
