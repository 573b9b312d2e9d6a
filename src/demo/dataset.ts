/**
 * The demo data set cut into chunks. Every chunk is a pure function of the plan and its range, so chunks
 * can be generated in any order (or in parallel) and always give the same rows.
 */
import { type AccountRow, generateAccounts } from './accounts.ts';
import { type EmployeeRow, generateEmployee } from './employees.ts';
import { generateHealthClaims, type HealthClaimRow } from './health-claims.ts';
import { type CustomerRow, customerProfile, generateCustomer } from './people.ts';
import type { DemoPlan } from './plan.ts';
import { generateTransaction, type TransactionRow } from './transactions.ts';

export interface CustomerChunk {
  customers: CustomerRow[];
  accounts: AccountRow[];
  healthClaims: HealthClaimRow[];
}

/** Customers [from, to) with their accounts and health claims. */
export function customerChunk(plan: DemoPlan, from: number, to: number): CustomerChunk {
  const chunk: CustomerChunk = { customers: [], accounts: [], healthClaims: [] };
  for (let i = from; i < Math.min(to, plan.customers); i++) {
    const profile = customerProfile(plan.seed, i);
    chunk.customers.push(generateCustomer(plan.seed, i));
    chunk.accounts.push(...generateAccounts(plan.seed, i, plan.accountOffsets[i]! + 1, profile));
    chunk.healthClaims.push(...generateHealthClaims(plan.seed, i, plan.claimOffsets[i]! + 1, profile));
  }
  return chunk;
}

/** Transactions with index in [from, to). */
export function transactionChunk(plan: DemoPlan, from: number, to: number): TransactionRow[] {
  const rows: TransactionRow[] = [];
  for (let i = from; i < Math.min(to, plan.transactions); i++) rows.push(generateTransaction(plan, i));
  return rows;
}

/** Employees with index in [from, to). */
export function employeeChunk(plan: DemoPlan, from: number, to: number): EmployeeRow[] {
  const rows: EmployeeRow[] = [];
  for (let i = from; i < Math.min(to, plan.employees); i++) rows.push(generateEmployee(plan.seed, i));
  return rows;
}
