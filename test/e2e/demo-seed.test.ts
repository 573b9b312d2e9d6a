import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerChunk, DemoDataExistsError, employeeChunk, planDemo, seedDemo, type SeedResult, transactionChunk } from '../../src/demo/index.ts';
import { ENGINES, type TestDatabase } from '../support/databases.ts';

const SCALE = 0.05;

/**
 * A table's fingerprint: md5 over its rows in id order, each row's columns joined with '|'. SQL and JS
 * render every column the same way: dates as YYYY-MM-DD, timestamps as epoch seconds, NULL as '∅'.
 */
const FINGERPRINT_COLUMNS: Record<string, string> = {
  customers: `id, full_name, email, phone, national_id, to_char(birth_date, 'YYYY-MM-DD'), gender, postal_code, city, residency, segment, extract(epoch FROM created_at)::bigint`,
  accounts: `id, customer_id, kind, currency, balance, to_char(opened_on, 'YYYY-MM-DD')`,
  transactions: `id, account_id, amount, merchant_category, extract(epoch FROM occurred_at)::bigint, coalesce(note, '∅')`,
  health_claims: `id, customer_id, diagnosis_code, claim_amount, to_char(submitted_on, 'YYYY-MM-DD'), status`,
  employees: `id, full_name, email, department, work_jurisdiction, salary`,
};

async function databaseFingerprints(t: TestDatabase): Promise<Record<string, string>> {
  const selects = Object.entries(FINGERPRINT_COLUMNS).map(
    ([table, columns]) => `(SELECT md5(string_agg(concat_ws('|', ${columns}), E'\\n' ORDER BY id)) FROM ${table}) AS ${table}`,
  );
  const { rows } = await t.db.query<Record<string, string>>(`SELECT ${selects.join(', ')}`);
  return rows[0]!;
}

function md5(rows: readonly (readonly unknown[])[]): string {
  return createHash('md5')
    .update(rows.map((row) => row.join('|')).join('\n'))
    .digest('hex');
}

function generatedFingerprints(): Record<string, string> {
  const plan = planDemo({ scale: SCALE });
  const { customers, accounts, healthClaims } = customerChunk(plan, 0, plan.customers);
  const epoch = (iso: string) => Date.parse(iso) / 1000;
  return {
    customers: md5(
      customers.map((c) => [
        c.id,
        c.full_name,
        c.email,
        c.phone,
        c.national_id,
        c.birth_date,
        c.gender,
        c.postal_code,
        c.city,
        c.residency,
        c.segment,
        epoch(c.created_at),
      ]),
    ),
    accounts: md5(accounts.map((a) => [a.id, a.customer_id, a.kind, a.currency, a.balance, a.opened_on])),
    transactions: md5(
      transactionChunk(plan, 0, plan.transactions).map((t) => [t.id, t.account_id, t.amount, t.merchant_category, epoch(t.occurred_at), t.note ?? '∅']),
    ),
    health_claims: md5(healthClaims.map((h) => [h.id, h.customer_id, h.diagnosis_code, h.claim_amount, h.submitted_on, h.status])),
    employees: md5(employeeChunk(plan, 0, plan.employees).map((e) => [e.id, e.full_name, e.email, e.department, e.work_jurisdiction, e.salary])),
  };
}

describe.each(ENGINES)('seeding the demo world on $engine', ({ create }) => {
  let t: TestDatabase;
  let result: SeedResult;
  const progress: { done: number; total: number; phase: string }[] = [];

  beforeAll(async () => {
    t = await create();
    result = await seedDemo(t.db, { scale: SCALE, onProgress: (done, total, phase) => progress.push({ done, total, phase }) });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('writes the planned number of rows into every table', async () => {
    const { rows } = await t.db.query(
      `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM accounts) AS accounts,
              (SELECT count(*) FROM transactions) AS transactions, (SELECT count(*) FROM health_claims) AS "healthClaims",
              (SELECT count(*) FROM employees) AS employees`,
    );
    const { millis: _millis, ...counts } = result;
    expect(rows[0]).toEqual(counts);
    expect(counts).toMatchObject({ customers: 500, transactions: 5_000, employees: 200 });
    expect(counts.accounts).toBeGreaterThan(500);
    expect(counts.healthClaims).toBeGreaterThan(0);
  });

  it('keeps every reference intact', async () => {
    const { rows } = await t.db.query(
      `SELECT (SELECT count(*) FROM transactions t LEFT JOIN accounts a ON a.id = t.account_id WHERE a.id IS NULL) AS orphan_transactions,
              (SELECT count(*) FROM accounts a LEFT JOIN customers c ON c.id = a.customer_id WHERE c.id IS NULL) AS orphan_accounts,
              (SELECT count(*) FROM health_claims h LEFT JOIN customers c ON c.id = h.customer_id WHERE c.id IS NULL) AS orphan_claims,
              (SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = c.id)) AS customers_without_account`,
    );
    expect(rows[0]).toEqual({ orphan_transactions: 0, orphan_accounts: 0, orphan_claims: 0, customers_without_account: 0 });
  });

  it('stores exactly the generated rows, so both engines hold the same data', async () => {
    expect(await databaseFingerprints(t)).toEqual(generatedFingerprints());
  });

  it('reports progress up to the planned total', () => {
    const last = progress.at(-1)!;
    expect(last.done).toBe(last.total);
    expect(progress.every((step, i) => i === 0 || step.done >= progress[i - 1]!.done)).toBe(true);
    expect(new Set(progress.map((step) => step.phase))).toEqual(new Set(['customers', 'accounts', 'health_claims', 'transactions', 'employees', 'analyze']));
  });

  it('refuses to seed over existing rows and leaves them untouched', async () => {
    const before = await databaseFingerprints(t);
    const attempt = seedDemo(t.db, { scale: 0.01 });
    await expect(attempt).rejects.toThrow(DemoDataExistsError);
    await expect(attempt).rejects.toThrow(/--reset/);
    expect(await databaseFingerprints(t)).toEqual(before);
  });

  it('replaces the rows when asked to reset', async () => {
    const reseeded = await seedDemo(t.db, { scale: 0.01, reset: true });
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    expect(rows[0]!.n).toBe(reseeded.customers);
    expect(reseeded.customers).toBe(100);
  });
});
