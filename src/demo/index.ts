export { type AccountKind, type AccountRow, BALANCE_BOUNDS, generateAccounts } from './accounts.ts';
export { DEMO_TIME } from './calendar.ts';
export { type CustomerChunk, customerChunk, employeeChunk, transactionChunk } from './dataset.ts';
export { DEPARTMENTS, type EmployeeRow, generateEmployee } from './employees.ts';
export { CLAIM_AMOUNT_BOUNDS, DIAGNOSES, generateHealthClaims, type HealthClaimRow } from './health-claims.ts';
export { type City, JURISDICTIONS, type Jurisdiction, LOCALES, type Locale } from './jurisdictions.ts';
export {
  type Gender,
  isValidAadhaar,
  isValidChineseResidentId,
  isValidMyNumber,
  isValidNir,
  isValidNric,
  isValidSsn,
  isValidSteuerId,
  isValidTfn,
} from './national-ids.ts';
export { isValidNationalId, NATIONAL_ID_SCHEMES, type NationalIdScheme } from './national-id-schemes.ts';
export { type CustomerProfile, type CustomerRow, customerProfile, generateCustomer, type Segment } from './people.ts';
export { DemoScaleError, type DemoPlan, planDemo } from './plan.ts';
export { DEFAULT_DEMO_SEED } from './random.ts';
export { DEMO_TABLES, DemoDataExistsError, type DemoTable, hasDemoData, seedDemo, type SeedOptions, type SeedResult } from './seed.ts';
export {
  generateTransaction,
  isPromptInjectionNote,
  MERCHANT_CATEGORIES,
  type MerchantCategory,
  PROMPT_INJECTION_NOTES,
  type TransactionRow,
} from './transactions.ts';
