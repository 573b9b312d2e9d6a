/** One step of the scripted demo session: an agent asking one thing, as an agent would. */
export interface SessionStep {
  agent: string | null;
  purpose?: string;
  what: string;
  query: string;
}

/**
 * A short working day of the four demo agents, exercising every stage: views and masking, compliance
 * (CN rows withheld from an agent outside China, EU transfers flagged), special categories, inference safety,
 * DP aggregates with their budget, approvals and refusals — so the officer's report and dashboard have data.
 */
export const DEMO_SESSION: readonly SessionStep[] = [
  {
    agent: 'support-bot',
    what: 'support-bot lists customers of its desk (contact data masked; CN customers withheld)',
    query: '{ customers(limit: 20) { id full_name email phone city residency } }',
  },
  {
    agent: 'support-bot',
    what: 'support-bot looks at EU-DE customers and their accounts (a GDPR transfer to SG under SCCs)',
    query: '{ customers(where: { residency: { eq: "EU-DE" } }, limit: 10) { id full_name phone accounts { id kind currency } } }',
  },
  {
    agent: 'support-bot',
    what: 'support-bot tries to search by a masked e-mail (refused: inference safety)',
    query: '{ customers(where: { email: { eq: "someone@example.com" } }) { id } }',
  },
  {
    agent: 'fraud-bot',
    purpose: 'fraud_detection',
    what: 'fraud-bot reviews recent transactions (notes are untrusted text, cut and cleaned)',
    query: '{ transactions(limit: 100, orderBy: [{ field: amount, direction: DESC }]) { id amount merchant_category note account { id customer_id } } }',
  },
  {
    agent: 'fraud-bot',
    purpose: 'claims',
    what: 'fraud-bot reviews health claims (special category: diagnosis category only)',
    query: '{ health_claims(limit: 50) { id customer_id diagnosis_code claim_amount status } }',
  },
  {
    agent: 'analytics-bot',
    what: 'analytics-bot: average transaction amount per merchant category for EU customers, ε = 0.5',
    query:
      '{ transactions_aggregate(where: { subject_jurisdiction: { in: ["EU-DE", "EU-FR"] } }, groupBy: [merchant_category], epsilon: 0.5) { cost { epsilon } budget { epsilonRemaining } groups { key { merchant_category } avg(field: amount) { value low high } } } }',
  },
  {
    agent: 'analytics-bot',
    what: 'analytics-bot: customers per jurisdiction, ε = 0.2',
    query: '{ customers_aggregate(groupBy: [residency], epsilon: 0.2) { groups { key { residency } count { value low high } } } }',
  },
  {
    agent: 'kyc-bot',
    what: 'kyc-bot asks for national IDs (needs a human approval first)',
    query: '{ customers(limit: 5) { id full_name national_id } }',
  },
  {
    agent: 'kyc-bot',
    what: 'kyc-bot checks names and birth years meanwhile',
    query: '{ customers(limit: 5) { id full_name birth_date } }',
  },
  {
    agent: null,
    what: 'a caller without a token',
    query: '{ viewer { agent } }',
  },
];
