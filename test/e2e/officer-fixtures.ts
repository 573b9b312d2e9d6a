import { randomUUID } from 'node:crypto';
import { appendAuditRecord, type AuditDraft } from '../../src/audit/index.ts';
import type { OfficerRequestHandler } from '../../src/officer/index.ts';
import type { TestBroker, GraphQLReply } from '../support/broker.ts';

export const DAY = 24 * 3600 * 1000;

/** A record of a kind the pipeline does not produce yet (DP spend, compliance findings, special categories). */
function draft(overrides: Partial<AuditDraft> & Pick<AuditDraft, 'actorId' | 'recordedAt'>): AuditDraft {
  return {
    requestId: randomUUID(),
    actorKind: 'agent',
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

/**
 * The audit trail the officer tests read. Through the real pipeline: support-bot reads 5 customers
 * (1 SG, 2 EU-DE, 4 CN, 5 IN, 6 EU-FR; 3 is US-CA, outside its desk), fraud-bot reads the 5 transactions
 * (customers 1, 2, 3, 4), and a request without a token is denied. Appended directly, two and three days
 * ago: analytics-bot's DP answers (ε 0.5 + 0.25), a kyc-bot record with a special-category field and a
 * compliance finding.
 */
export async function seedAuditTrail(kh: TestBroker): Promise<void> {
  const support = await kh.token('support-bot');
  const fraud = await kh.token('fraud-bot');
  const replies = [
    await kh.graphql(support, '{ customers(limit: 10) { id segment residency } }'),
    await kh.graphql(fraud, '{ transactions(limit: 10) { id amount merchant_category } }'),
  ];
  for (const reply of replies) if (reply.status !== 200 || reply.body.errors) throw new Error(`seed request failed: ${JSON.stringify(reply.body)}`);
  const denied = await kh.graphql(null, '{ customers { id } }');
  if (denied.status !== 401) throw new Error('the seed request without a token was not refused');

  const { db, secrets } = kh.broker;
  const now = Date.now();
  const analytics = { actorId: 'analytics-bot', purpose: 'analytics', actorLocation: 'US-CA', operationKind: 'aggregate', tables: ['transactions'] };
  await db.transaction(async (tx) => {
    await appendAuditRecord(tx, secrets.auditKey, draft({ ...analytics, recordedAt: new Date(now - 3 * DAY), privacyCost: { epsilon: 0.5, delta: 0 } }));
    await appendAuditRecord(tx, secrets.auditKey, draft({ ...analytics, recordedAt: new Date(now - 2 * DAY), privacyCost: { epsilon: 0.25, delta: 0 } }));
    await appendAuditRecord(
      tx,
      secrets.auditKey,
      draft({
        actorId: 'kyc-bot',
        purpose: 'kyc_verification',
        actorLocation: 'SG',
        recordedAt: new Date(now - 2 * DAY),
        tables: ['health_claims'],
        fields: [
          { table: 'health_claims', field: 'diagnosis_code', mask: 'generalise', rule: 'health-codes' },
          { table: 'health_claims', field: 'status', mask: 'clear' },
        ],
        rowCount: 1,
        findings: [{ rule: 'special_category', severity: 'high', jurisdiction: 'EU-DE', message: 'Health data sent to SG without explicit consent.' }],
      }),
    );
  });
}

/** POSTs a query to /officer/graphql through `handle`. */
export async function officerQuery(
  handle: OfficerRequestHandler,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLReply> {
  const response = await handle(
    new Request('http://keyhole.test/officer/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    }),
  );
  if (!response) throw new Error('the officer handler did not answer /officer/graphql');
  return { status: response.status, body: (await response.json()) as GraphQLReply['body'] };
}
