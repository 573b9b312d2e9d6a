import type { ProjectConfig } from '../../config/index.ts';
import type { Log } from '../../log.ts';
import type { Db, Queryable } from '../../sql/index.ts';
import { isQuarantined } from './anomalies.ts';
import { type BaselineState, requestSummaries, restoreBaseline } from './baseline.ts';
import { type Evaluation, evaluateNewRecords } from './evaluator.ts';
import { type AnomalyPolicy, anomalyPolicies } from './policy.ts';
import type { RequestBaseline } from './scoring.ts';

/** How often each broker evaluates new audit records (when no other broker is) and refreshes its copy of the baselines. */
export const DEFAULT_BASELINE_INTERVAL_MS = 250;
/** Records one evaluation reads at most; a broker that is behind evaluates again at once. */
export const EVALUATION_BATCH = 2000;

/** KEYHOLE_BASELINE_INTERVAL_MS: 10 ms to 60 s, or 0 for no timer (evaluations only when `tick` is called: tests). */
export function baselineIntervalFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_BASELINE_INTERVAL_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || (ms !== 0 && (ms < 10 || ms > 60_000)))
    throw new Error(`KEYHOLE_BASELINE_INTERVAL_MS: expected 0 or whole milliseconds from 10 to 60000, got "${value}"`);
  return ms;
}

type BaselineConfig = Pick<ProjectConfig, 'registry' | 'policies'>;

export interface BaselineMonitorOptions {
  db: Db;
  /** The agents and policies in force: read on every use, so a reloaded file applies to the next request. */
  config: () => BaselineConfig;
  auditKey: Uint8Array;
  intervalMs: number;
  log: Log;
}

const pairKey = (agentId: string, purpose: string) => `${agentId}\u0000${purpose}`;

/** What the files decide: each agent's policy, the window, and the agents whose policy quarantines. */
interface BaselineRules {
  policies: ReadonlyMap<string, AnomalyPolicy>;
  windowMs: number;
  guarded: readonly string[];
}

function baselineRulesOf(config: BaselineConfig): BaselineRules {
  const policies = anomalyPolicies(config.policies.anomalies, config.registry);
  const guarded = [...policies].filter(([, policy]) => policy.quarantine).map(([agent]) => agent);
  return { policies, windowMs: config.policies.anomalies.windowMinutes * 60_000, guarded };
}

interface Refreshed {
  quarantined: string[];
  baselines: Array<{ agent_id: string; purpose: string; state: Partial<BaselineState>; version: number | string }>;
  fields: Array<[string, string, string, number | string]>;
  behind: boolean | null;
}

/**
 * A broker's part in behavioural baselines. Every `intervalMs` it evaluates the audit records written since the
 * shared cursor (if no other broker is doing so: see evaluateNewRecords) and refreshes, in one statement, which agents
 * are quarantined and its copy of the baselines of agents whose policy quarantines: what the request path checks
 * with no statement of its own (see useBaselineGuard).
 */
export class BaselineMonitor {
  readonly db: Db;
  readonly auditKey: Uint8Array;
  private readonly options: BaselineMonitorOptions;
  /** Derived once per configuration put in force. */
  private readonly rulesOf = new WeakMap<BaselineConfig, BaselineRules>();
  /** Guarded agents whose baselines are copied here. */
  private readonly loaded = new Set<string>();
  private readonly quarantined = new Set<string>();
  private readonly baselines = new Map<string, RequestBaseline>();
  private readonly fields = new Map<string, Set<string>>();
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Evaluation | null> | null = null;
  private stopped = false;

  constructor(options: BaselineMonitorOptions) {
    this.options = options;
    this.db = options.db;
    this.auditKey = options.auditKey;
  }

  private rules(config = this.options.config()): BaselineRules {
    let rules = this.rulesOf.get(config);
    if (!rules) {
      rules = baselineRulesOf(config);
      this.rulesOf.set(config, rules);
    }
    return rules;
  }

  get policies(): ReadonlyMap<string, AnomalyPolicy> {
    return this.rules().policies;
  }

  /** The length of a baseline window (policies.yaml anomalies.windowMinutes). */
  get windowMs(): number {
    return this.rules().windowMs;
  }

  /** Agents whose policy quarantines: the only ones checked on the request path, so the only ones copied. */
  private get guarded(): readonly string[] {
    return this.rules().guarded;
  }

  /** Loads what the request path needs, then evaluates every `intervalMs` (none when it is 0). */
  async start(): Promise<void> {
    await this.refresh(this.db);
    for (const agent of this.guarded) this.loaded.add(agent);
    this.schedule(this.options.intervalMs);
  }

  /** Before a configuration is put in force (a reload): copies the baselines of the agents it starts guarding. */
  async follow(config: BaselineConfig): Promise<void> {
    for (const agent of this.rules(config).guarded) {
      if (this.loaded.has(agent)) continue;
      await this.loadAgent(this.db, agent);
      this.loaded.add(agent);
    }
  }

  /** Ends the timer and waits for an evaluation under way: call before the database closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * One round: evaluates what is new in the audit log (unless another broker is at it) and refreshes this broker's
   * copy. Rounds run one at a time; a call during one waits for it and runs another.
   */
  async tick(): Promise<Evaluation | null> {
    const previous = this.running?.catch(() => null) ?? Promise.resolve(null);
    const round = previous.then(async () => {
      const evaluation = (await this.refresh(this.db)) ? await evaluateNewRecords(this.db, this.evaluatorOptions()) : null;
      if (evaluation && evaluation.records > 0) await this.refresh(this.db);
      return evaluation;
    });
    this.running = round;
    return round;
  }

  policyOf(agentId: string): AnomalyPolicy | undefined {
    return this.policies.get(agentId);
  }

  isQuarantined(agentId: string): boolean {
    return this.quarantined.has(agentId);
  }

  /** Remembers a quarantine this broker raised, before any refresh brings it. */
  quarantine(agentId: string): void {
    this.quarantined.add(agentId);
  }

  /**
   * Whether an agent this broker holds quarantined still is, looked up (one statement, for quarantined agents
   * only): an officer's clearing on any broker takes effect on this one at its next request.
   */
  async confirmQuarantine(db: Queryable, agentId: string): Promise<boolean> {
    if (await isQuarantined(db, agentId)) return true;
    this.quarantined.delete(agentId);
    await this.reloadAgent(db, agentId);
    return false;
  }

  /** The copy of an agent's baseline under a purpose, as of the last refresh; undefined before it has one. */
  baselineOf(agentId: string, purpose: string): RequestBaseline | undefined {
    return this.baselines.get(pairKey(agentId, purpose));
  }

  private evaluatorOptions() {
    return { auditKey: this.auditKey, policies: this.policies, windowMs: this.windowMs, batchSize: EVALUATION_BATCH };
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.options.intervalMs === 0) return;
    this.timer = setTimeout(async () => {
      let full = false;
      try {
        full = ((await this.tick())?.records ?? 0) >= EVALUATION_BATCH;
      } catch (error) {
        if (!this.stopped) this.options.log({ level: 'warn', msg: 'baseline evaluation failed; trying again', error: String(error) });
      }
      this.schedule(full ? 0 : this.options.intervalMs);
    }, delayMs);
    // The timer must not keep a process alive: shutdown stops it (Drain), a test's end need not.
    this.timer.unref();
  }

  /** Reads the quarantined agents and what changed in the guarded agents' baselines; whether the evaluator is behind. */
  private async refresh(db: Queryable, agents: readonly string[] = this.guarded, since = this.version): Promise<boolean> {
    const { rows } = await db.query<Refreshed>(
      `SELECT (SELECT coalesce(array_agg(agent_id), '{}') FROM agent_quarantine) AS quarantined,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('agent_id', agent_id, 'purpose', purpose, 'state', state, 'version', version)), '[]')
                 FROM agent_baselines WHERE version > $1 AND agent_id = ANY($2::text[])) AS baselines,
              (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, purpose, field, version)), '[]')
                 FROM agent_baseline_fields WHERE version > $1 AND agent_id = ANY($2::text[])) AS fields,
              (SELECT seq FROM audit_head WHERE id = 1) > (SELECT seq FROM agent_baseline_cursor WHERE id = 1) AS behind`,
      [since, agents],
    );
    const refreshed = rows[0]!;
    this.quarantined.clear();
    for (const agent of refreshed.quarantined) this.quarantined.add(agent);
    for (const row of refreshed.baselines) {
      const state = restoreBaseline(row.state);
      const key = pairKey(row.agent_id, row.purpose);
      this.baselines.set(key, { ...state, summaries: requestSummaries(state), fields: this.fieldsOf(key) });
      this.version = Math.max(this.version, Number(row.version));
    }
    for (const [agent, purpose, field, version] of refreshed.fields) {
      this.fieldsOf(pairKey(agent, purpose)).add(field);
      this.version = Math.max(this.version, Number(version));
    }
    return refreshed.behind === true;
  }

  /** Everything of one agent again (after its quarantine ends, the fields an officer accepted with it). */
  private async reloadAgent(db: Queryable, agentId: string): Promise<void> {
    if (this.policies.get(agentId)?.quarantine) await this.loadAgent(db, agentId);
  }

  private async loadAgent(db: Queryable, agentId: string): Promise<void> {
    // Read from the start for this agent alone: the version stays where the refreshes of every agent left it.
    const version = this.version;
    await this.refresh(db, [agentId], 0);
    this.version = version;
  }

  private fieldsOf(key: string): Set<string> {
    let fields = this.fields.get(key);
    if (!fields) {
      fields = new Set();
      this.fields.set(key, fields);
    }
    return fields;
  }
}
