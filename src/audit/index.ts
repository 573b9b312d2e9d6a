export * from './record.ts';
export { appendAuditRecord } from './writer.ts';
export { verifyAuditChain, recordFromRow, type ChainVerification, type ChainProblem } from './verify.ts';
