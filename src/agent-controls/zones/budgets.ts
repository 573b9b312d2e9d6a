import type { PrivacyConfig, ZoneRules } from '../../config/index.ts';

type AgentBudget = PrivacyConfig['agents'][string];

const capped = (declared: number, cap: number | undefined) => (cap === undefined ? declared : Math.min(declared, cap));

/** An agent's declared DP budget under its zone's caps: ε per period and per query, never more than declared. */
export function zoneBudget(budget: AgentBudget, zone: ZoneRules): AgentBudget {
  return {
    ...budget,
    epsilon: capped(budget.epsilon, zone.maxEpsilonPerPeriod),
    maxEpsilonPerQuery: capped(budget.maxEpsilonPerQuery, zone.maxEpsilonPerQuery),
  };
}

/**
 * The privacy settings the budget ledger reads, with each agent's budget capped by the zone it is served in at the
 * moment it is read: dp admission refuses an ε above the per-query cap (PRIVACY_LIMIT_EXCEEDED), and the ledger
 * writes the capped period limit into the agent's dp_budget row before checking a spend against it, so officers see
 * the limit that applied. An agent without a declared budget still has none.
 */
export function zonedPrivacy(privacy: PrivacyConfig, zoneOf: (agentId: string) => ZoneRules): PrivacyConfig {
  const agents: PrivacyConfig['agents'] = {};
  for (const [agentId, budget] of Object.entries(privacy.agents)) {
    Object.defineProperty(agents, agentId, { enumerable: true, get: () => zoneBudget(budget, zoneOf(agentId)) });
  }
  return { ...privacy, agents };
}
