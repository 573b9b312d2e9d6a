import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type ApprovalField, missingApprovals } from '../../approvals/index.ts';
import type { AgentPrincipal } from '../../identity/index.ts';
import { refusal } from '../../request/refusals.ts';
import { type KeyholeContext, type RequestState, requestState } from '../../request/state.ts';
import type { Queryable } from '../../sql/index.ts';
import { raiseAnomalies } from './anomalies.ts';
import { windowStartOf } from './baseline.ts';
import type { BaselineMonitor } from './monitor.ts';
import { observeTally } from './observations.ts';
import { type Finding, scoreRequest } from './scoring.ts';

/**
 * What a quarantined agent needs approved for this answer: each field it returns, and each table it read that returns
 * none (a DP count grouped by public keys) as `table.*`.
 */
function approvalUnits(access: RequestState['access']): ApprovalField[] {
  const fields = [...access.fields.values()].map(({ table, field }) => ({ table, field }));
  const bare = [...access.tables].filter((table) => !fields.some((f) => f.table === table)).map((table) => ({ table, field: '*' }));
  return [...fields, ...bare];
}

/** Quarantine is approval-required mode: everything an answer holds needs an active human approval for the agent. */
async function requireApprovals(tx: Queryable, state: RequestState, agent: AgentPrincipal): Promise<GraphQLError | null> {
  const fields = approvalUnits(state.access);
  const missing = await missingApprovals(tx, agent.id, agent.purpose, fields, state.requestId);
  if (missing.length === 0) return null;
  const names = missing.map((a) => `${a.table}.${a.field} (approval #${a.id})`).join(', ');
  return refusal(
    'APPROVAL_REQUIRED',
    `This agent is quarantined after an anomaly in its behaviour: a human must approve access to ${names} first, or an officer clear the quarantine.`,
    { quarantined: true, approvals: missing.map((a) => ({ id: a.id, table: a.table, field: a.field, status: a.status })) },
  );
}

/** Raises what the request path found, in the request's own transaction if it has one (PGlite runs one at a time). */
async function raiseOnRequestPath(monitor: BaselineMonitor, state: RequestState, agent: AgentPrincipal, findings: readonly Finding[], at: Date) {
  const windowStart = windowStartOf(at, monitor.windowMs);
  const raised = findings.map((finding) => ({
    ...finding,
    agentId: agent.id,
    purpose: agent.purpose,
    windowStart: finding.kind === 'unusual_hour' ? new Date(windowStart) : null,
    windowEnd: finding.kind === 'unusual_hour' ? new Date(windowStart + monitor.windowMs) : null,
    requestId: state.requestId,
    auditSeq: null,
    quarantines: true,
  }));
  const raise = (tx: Queryable) => raiseAnomalies(tx, monitor.auditKey, raised);
  await (state.tx === monitor.db ? monitor.db.transaction(raise) : raise(state.tx!));
}

/**
 * What an answer must pass before it leaves, for an agent whose policy quarantines: a quarantined agent's answer
 * needs approvals; anyone else's is scored against the broker's copy of its baseline (no statement), and an answer
 * far outside it raises the anomaly, quarantines the agent and is refused as a quarantined agent's is. Statements run
 * only for quarantined agents and anomalous answers.
 */
async function guard(monitor: BaselineMonitor, state: RequestState): Promise<GraphQLError | null> {
  const agent = state.principal;
  if (agent?.kind !== 'agent' || state.access.tables.size === 0) return null;
  const tx = state.tx!;
  if (monitor.isQuarantined(agent.id) && (await monitor.confirmQuarantine(tx, agent.id))) return requireApprovals(tx, state, agent);
  const policy = monitor.policyOf(agent.id);
  const baseline = monitor.baselineOf(agent.id, agent.purpose);
  if (!policy?.quarantine || !baseline) return null;
  const at = new Date();
  const findings = scoreRequest(baseline, observeTally(state.access, at), policy);
  if (findings.length === 0) return null;
  await raiseOnRequestPath(monitor, state, agent, findings, at);
  monitor.quarantine(agent.id);
  return requireApprovals(tx, state, agent);
}

/**
 * Behavioural baselines on the request path. It runs innermost (before usePrivacySpend in the plugin list), on the
 * request's statements: a refusal here spends no privacy budget, and the audit records it as pending approval.
 */
export function useBaselineGuard(monitor: BaselineMonitor): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const result = (await executeFn(args)) as ExecutionResult;
        if (result.errors?.length) return result;
        const refused = await guard(monitor, requestState((args.contextValue as KeyholeContext).request));
        return refused ? { errors: [refused] } : result;
      });
    },
  };
}
