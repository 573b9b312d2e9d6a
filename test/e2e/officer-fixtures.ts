import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendAuditRecord, type FieldAccess, subjectPseudonym } from '../../src/audit/index.ts';
import { describeFields, loadJurisdictionRules, runComplianceChecks } from '../../src/compliance/index.ts';
import { type OfficerRequestHandler, useOfficerRoutes } from '../../src/officer/index.ts';
import { silentLog } from '../../src/log.ts';
import { auditDraft } from '../support/audit.ts';
import { type GraphQLReply, PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { projectWith } from '../support/project.ts';

export const DAY = 24 * 3600 * 1000;

/** The officer routes of a test broker, callable without an HTTP server. */
export function officerHandlerOf(kh: TestBroker): OfficerRequestHandler {
  const { broker } = kh;
  return useOfficerRoutes({ db: broker.db, config: broker.config, tokenKeys: broker.tokenKeys, secrets: broker.secrets, log: silentLog }).handleOfficerRequest;
}

/** analytics-bot's questions, in the order they are asked. */
export const DP_QUERIES = {
  /** Public groups (the catalog's merchant categories): pure ε = 0.5, 10 groups always. */
  byCategory: '{ transactions_aggregate(groupBy: [merchant_category], epsilon: 0.5) { groups { key { merchant_category } count { value } } } }',
  /**
   * Non-public groups: (ε = 1, δ = 1e-8) with partition selection. Every city has one customer, and a group
   * of one is released with probability ≤ δ, so this answer has no group but with probability < 1e-7.
   */
  byCity: '{ customers_aggregate(groupBy: [city], epsilon: 1, delta: 1e-8) { groups { key { city } count { value } } } }',
  /** Discrete Gaussian: charged as ρ-zCDP. One (ungrouped) group. */
  balances: '{ accounts_aggregate(epsilon: 1, delta: 1e-7, mechanism: GAUSSIAN) { groups { count { value } } } }',
  /** Over the per-query ε cap (2): refused, nothing charged. */
  overCap: '{ accounts_aggregate(epsilon: 5) { groups { count { value } } } }',
} as const;

function expectStatus(reply: GraphQLReply, status: number, what: string): GraphQLReply {
  const failed = status === 200 ? reply.body.errors !== undefined : reply.body.data != null;
  if (reply.status !== status || failed) throw new Error(`seed: ${what} answered ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

/** The same secrets as `kh`, so a second broker writes into the same audit chain under the same pseudonyms. */
function sharedSecrets(kh: TestBroker): NodeJS.ProcessEnv {
  const { secrets } = kh.broker;
  const base64 = (key: Uint8Array) => Buffer.from(key).toString('base64');
  return {
    KEYHOLE_AUDIT_KEY: base64(secrets.auditKey),
    KEYHOLE_MASKING_KEY: base64(secrets.maskingKey),
    KEYHOLE_MASKING_KEY_ID: secrets.maskingKeyId,
    KEYHOLE_SUBJECT_KEY: base64(secrets.subjectKey),
  };
}

/**
 * A TRANSFER_DENIED refusal from the real pipeline: the same database and secrets, under a project copy in
 * which support-bot has lost its EU-FR transfer basis, so its customer list (which holds an EU-FR customer)
 * is denied as a whole.
 */
async function transferDenial(kh: TestBroker): Promise<void> {
  const root = await projectWith({
    'schema/agents.yaml': (text) =>
      text.replace('      EU-FR: [standard_contractual_clauses]\n      AU: [contractual_safeguards]', '      AU: [contractual_safeguards]'),
  });
  const strict = await startTestBroker(kh.broker.db, { root, env: sharedSecrets(kh) });
  try {
    const denied = await strict.graphql(await strict.token('support-bot'), '{ customers(limit: 10) { id residency } }');
    if (denied.body.errors?.[0]?.extensions?.code !== 'TRANSFER_DENIED') throw new Error(`seed: expected TRANSFER_DENIED, got ${JSON.stringify(denied.body)}`);
  } finally {
    await strict.close();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The one record the test world cannot produce: a special-category field returned to an agent (the demo
 * policies show no special-category field to any row agent). kyc-bot is shown customer 1's (SG) diagnosis
 * code, partially masked under a health rule a deployment might add; its findings are what the real
 * compliance checks conclude about exactly that access. Dated two days ago.
 */
async function specialCategoryAccess(kh: TestBroker): Promise<void> {
  const { config, db, secrets } = kh.broker;
  const kyc = config.registry.agents.get('kyc-bot');
  if (!kyc) throw new Error('seed: the demo registry has no kyc-bot');
  const rules = await loadJurisdictionRules(join(PROJECT_ROOT, 'schema', 'jurisdictions'));
  const fields: FieldAccess[] = [
    { table: 'health_claims', field: 'diagnosis_code', mask: 'partial', rule: 'masking-rules/health-claims.yaml:6' },
    { table: 'health_claims', field: 'status', mask: 'clear' },
  ];
  const checked = runComplianceChecks(
    { agent: kyc, purpose: 'kyc_verification', access: 'rows', fields: describeFields(config.catalog, fields), subjectJurisdictions: ['SG'] },
    rules,
  );
  if (checked.outcome === 'deny') throw new Error('seed: the special-category access would have been denied');
  await db.transaction((tx) =>
    appendAuditRecord(
      tx,
      secrets.auditKey,
      auditDraft({
        recordedAt: new Date(Date.now() - 2 * DAY),
        actorId: 'kyc-bot',
        purpose: 'kyc_verification',
        actorLocation: kyc.location,
        tables: ['health_claims'],
        fields,
        rowCount: 1,
        subjects: new Map([[subjectPseudonym(secrets.subjectKey, 'customer', 1), 'SG']]),
        findings: checked.findings.map((finding) => ({ ...finding })),
      }),
    ),
  );
}

/**
 * The audit trail the officer tests read, in this order (seq 1-11), all through the real pipeline but the last:
 *  1. support-bot lists customers: 1 SG, 2 EU-DE, 5 IN, 6 EU-FR; customer 4 (CN) withheld (no PIPL basis),
 *     customer 3 (US-CA) is outside its desk. GDPR transfers flagged, the IN one allowed.
 *  2. support-bot lists accounts: 10, 11 (customer 1), 20, 50, 60; account 40 (CN) withheld.
 *  3. fraud-bot lists the 5 transactions (customers 1, 1, 2, 3, 4), CN included under its CAC contract.
 *  4-8. analytics-bot: DP_QUERIES.byCategory, the same again (replayed, free), byCity, balances, overCap (refused).
 *  9. a request without a token (UNAUTHENTICATED).
 *  10. support-bot's customer list refused with TRANSFER_DENIED (see transferDenial).
 *  11. kyc-bot's special-category access, two days ago (see specialCategoryAccess).
 */
export async function seedAuditTrail(kh: TestBroker): Promise<void> {
  const support = await kh.token('support-bot');
  expectStatus(await kh.graphql(support, '{ customers(limit: 10) { id full_name email phone residency segment } }'), 200, 'support-bot customers');
  expectStatus(await kh.graphql(support, '{ accounts(limit: 10) { id customer_id kind } }'), 200, 'support-bot accounts');
  expectStatus(
    await kh.graphql(await kh.token('fraud-bot'), '{ transactions(limit: 10) { id amount merchant_category note } }'),
    200,
    'fraud-bot transactions',
  );

  const analytics = await kh.token('analytics-bot');
  expectStatus(await kh.graphql(analytics, DP_QUERIES.byCategory), 200, 'analytics-bot byCategory');
  expectStatus(await kh.graphql(analytics, DP_QUERIES.byCategory), 200, 'analytics-bot byCategory, replayed');
  expectStatus(await kh.graphql(analytics, DP_QUERIES.byCity), 200, 'analytics-bot byCity');
  expectStatus(await kh.graphql(analytics, DP_QUERIES.balances), 200, 'analytics-bot balances');
  expectStatus(await kh.graphql(analytics, DP_QUERIES.overCap), 400, 'analytics-bot over the per-query cap');

  expectStatus(await kh.graphql(null, '{ customers { id } }'), 401, 'a request without a token');
  await transferDenial(kh);
  await specialCategoryAccess(kh);
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
