import { ANOMALY_STATISTICS, type AgentRegistry, type AnomalyConfig, type AnomalyLayer, type AnomalyStatistic } from '../../config/index.ts';

/** What one agent's behaviour is held to: the anomalies section of policies.yaml, resolved for that agent. */
export interface AnomalyPolicy {
  /** An anomaly puts the agent in approval-required mode until an officer clears it. */
  quarantine: boolean;
  /** Requests learned before any per-request statistic (or first use of a field, or hour of day) is scored. */
  minObservations: number;
  /** Windows with activity learned before any per-window statistic is scored. */
  minWindows: number;
  /** Robust z-score above which each statistic raises an anomaly; null: not scored. */
  thresholds: Readonly<Record<AnomalyStatistic, number | null>>;
  /** Reading a field the agent has never read before (after the cold start) raises an anomaly. */
  newFields: boolean;
  /** A request in an hour of day (UTC) holding at most `maxShare` of the agent's requests, once they span `minDays`. */
  unusualHours: { minDays: number; maxShare: number } | null;
}

/** Whatever no layer of the file says. */
export const DEFAULT_ANOMALY_SETTINGS = {
  quarantine: false,
  minObservations: 200,
  minWindows: 24,
  threshold: 8,
  newFields: true,
  unusualHours: { minDays: 14, maxShare: 0 },
} as const;

/** The first setting a layer gives, most specific layer first. */
function first<K extends keyof AnomalyLayer>(layers: readonly AnomalyLayer[], key: K): AnomalyLayer[K] {
  return layers.find((layer) => layer[key] !== undefined)?.[key];
}

/**
 * The agent's policy: its own layer (`anomalies.agents`), then its role's (`anomalies.roles`), then the file's
 * defaults, then DEFAULT_ANOMALY_SETTINGS. Within a layer a statistic's own threshold wins over the layer's `threshold`.
 */
export function anomalyPolicyFor(config: AnomalyConfig, agentId: string, role: string): AnomalyPolicy {
  const layers = [config.agents[agentId], config.roles[role], config].filter((layer): layer is AnomalyLayer => layer !== undefined);
  const thresholdOf = (statistic: AnomalyStatistic): number | null => {
    for (const layer of layers) {
      const own = layer.thresholds?.[statistic];
      if (own !== undefined) return own;
      if (layer.threshold !== undefined) return layer.threshold;
    }
    return DEFAULT_ANOMALY_SETTINGS.threshold;
  };
  const unusualHours = first(layers, 'unusualHours') ?? DEFAULT_ANOMALY_SETTINGS.unusualHours;
  return {
    quarantine: first(layers, 'quarantine') ?? DEFAULT_ANOMALY_SETTINGS.quarantine,
    minObservations: first(layers, 'minObservations') ?? DEFAULT_ANOMALY_SETTINGS.minObservations,
    minWindows: first(layers, 'minWindows') ?? DEFAULT_ANOMALY_SETTINGS.minWindows,
    thresholds: Object.fromEntries(ANOMALY_STATISTICS.map((statistic) => [statistic, thresholdOf(statistic)])) as Record<AnomalyStatistic, number | null>,
    newFields: first(layers, 'newFields') ?? DEFAULT_ANOMALY_SETTINGS.newFields,
    unusualHours: unusualHours === false ? null : { ...unusualHours },
  };
}

/** Every registered agent's policy. */
export function anomalyPolicies(config: AnomalyConfig, registry: AgentRegistry): ReadonlyMap<string, AnomalyPolicy> {
  return new Map([...registry.agents.values()].map((agent) => [agent.id, anomalyPolicyFor(config, agent.id, agent.role)]));
}
