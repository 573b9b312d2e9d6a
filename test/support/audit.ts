import { randomUUID } from 'node:crypto';
import type { AuditDraft } from '../../src/audit/index.ts';

/** An audit draft of an allowed, empty agent query, with the fields a test cares about overridden. */
export function auditDraft(overrides: Partial<AuditDraft> = {}): AuditDraft {
  return {
    recordedAt: new Date(),
    requestId: randomUUID(),
    actorKind: 'agent',
    actorId: null,
    purpose: null,
    actorLocation: null,
    operationKind: 'query',
    operationName: null,
    operationHash: null,
    decision: 'allowed',
    code: null,
    reason: null,
    tables: [],
    fields: [],
    rowCount: 0,
    subjects: new Map(),
    privacyCost: null,
    findings: [],
    details: {},
    ...overrides,
  };
}
