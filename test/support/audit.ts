import { randomUUID } from 'node:crypto';
import type { AuditDraft } from '../../src/audit/index.ts';
import type { Db } from '../../src/sql/index.ts';

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

/** A draft with every field the record hash covers set to something an edit can change, about one subject of `jurisdiction`. */
export const fullAuditDraft = (n: number, jurisdiction = 'DE'): AuditDraft =>
  auditDraft({
    recordedAt: new Date(Date.UTC(2026, 0, n, 12)),
    actorId: 'support-bot',
    onBehalfOf: 'clerk-ada',
    purpose: 'customer_service',
    actorLocation: 'DE',
    operationName: `Q${n}`,
    operationHash: 'a'.repeat(64),
    decision: 'allowed',
    code: 'OK_CODE',
    reason: 'because',
    tables: ['customers'],
    fields: [{ table: 'customers', field: 'email', mask: 'mask_email', rule: 'r1' }],
    rowCount: 2,
    subjects: new Map([[`customer:${n}`, jurisdiction]]),
    privacyCost: { epsilon: 0.5 },
    findings: [{ rule: 'f1' }],
    details: { note: `n${n}` },
  });

/** Empties a migrated database's audit log, its tree, checkpoints and subject keys (a new key epoch), and resets the head to genesis. */
export const emptyAuditLog = (db: Db) =>
  db.exec(
    'TRUNCATE audit_subject_lists, audit_log, audit_checkpoints, audit_tree_nodes, audit_checkpoints_signed, subject_keys; ' +
      "UPDATE audit_head SET seq = 0, hash = 'genesis', key_epoch = key_epoch + 1, tree_size = 0, tree_frontier = '[]'",
  );

/** Removes the newest `count` records and moves the head back onto the last one left: the chain alone still verifies. */
export async function cutAuditTail(db: Db, count: number): Promise<void> {
  await db.query('DELETE FROM audit_subject_lists WHERE audit_seq > (SELECT seq FROM audit_head) - $1', [count]);
  await db.query('DELETE FROM audit_log WHERE seq > (SELECT seq FROM audit_head) - $1', [count]);
  await db.exec(
    "UPDATE audit_head SET seq = coalesce((SELECT max(seq) FROM audit_log), 0), hash = coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), 'genesis')",
  );
}
