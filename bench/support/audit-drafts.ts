import type { AuditDraft } from '../../src/audit/index.ts';

/** What the broker records for support-bot reading customers' masked e-mails and names: the audit benches' probe. */
export function probeDraft(n: number, subjects: Map<string, string>): AuditDraft {
  return {
    recordedAt: new Date(),
    requestId: `bench-${n}`,
    actorKind: 'agent',
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    operationKind: 'query',
    operationName: null,
    operationHash: 'a'.repeat(64),
    decision: 'allowed',
    code: null,
    reason: null,
    tables: ['customers'],
    fields: [
      { table: 'customers', field: 'email', mask: 'mask_email', rule: 'masking-rules/customers.yaml:12' },
      { table: 'customers', field: 'full_name', mask: 'initials', rule: 'masking-rules/customers.yaml:20' },
    ],
    rowCount: subjects.size,
    subjects,
    privacyCost: null,
    findings: [],
    details: {},
  };
}
