import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditBatchObserved } from '../audit/batcher.ts';
import type { RequestLabels } from './metrics-labels.ts';

/** What the database pool holds right now (the `pg` adapter tells; the embedded database has no pool). */
export interface PoolStats {
  inUse: number;
  waiting: number;
}

/** ε an agent may still spend this period, per agent with a declared budget. */
export type BudgetsRemaining = () => Promise<ReadonlyArray<{ agent: string; epsilon: number }>>;

/** Per agent of the registry: open behavioural anomalies, and whether it is quarantined (src/agent-controls/baselines). */
export interface AgentControlsState {
  openAnomalies: ReadonlyArray<{ agent: string; count: number }>;
  quarantined: readonly string[];
}

/** How long a scrape waits for the budget ledger before it leaves the gauge out (a slow database never stalls /metrics). */
const SCRAPE_READ_MS = 2000;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const REQUEST_LABELS = ['agent', 'purpose', 'operation', 'outcome'] as const;

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Keyhole's Prometheus metrics, in a registry of their own (never prom-client's global one, which any library in
 * the process could write to). Labels are the closed values of metrics-labels.ts; what is read from the database
 * (budgets, the pool) is read on scrape, not on the request path.
 */
export class KeyholeMetrics {
  readonly registry = new Registry();
  private budgets: BudgetsRemaining | undefined;
  private pool: (() => PoolStats | undefined) | undefined;
  private controls: (() => Promise<AgentControlsState>) | undefined;
  private unappendedCheckpoints: (() => Promise<number>) | undefined;

  readonly requests = new Counter({
    name: 'keyhole_requests_total',
    help: 'Requests to the agents’ endpoints, by agent, purpose, operation kind and outcome (OK or the refusal code).',
    labelNames: REQUEST_LABELS,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: 'keyhole_request_duration_seconds',
    help: 'Time from a request’s arrival to its answer, by agent, purpose, operation kind and outcome.',
    labelNames: REQUEST_LABELS,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly refusals = new Counter({
    name: 'keyhole_refusals_total',
    help: 'Requests answered without data, by refusal code.',
    labelNames: ['code'],
    registers: [this.registry],
  });

  readonly auditBatchSize = new Histogram({
    name: 'keyhole_audit_batch_size',
    help: 'Audit records per group commit.',
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });

  readonly auditCommitSeconds = new Histogram({
    name: 'keyhole_audit_commit_seconds',
    help: 'Time to write and commit one group commit of audit records (the wait every answer in it shares).',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly epsilonSpent = new Counter({
    name: 'keyhole_dp_epsilon_spent_total',
    help: 'Differential-privacy ε released to each agent (replayed answers cost nothing).',
    labelNames: ['agent'],
    registers: [this.registry],
  });

  readonly heAggregateSeconds = new Histogram({
    name: 'keyhole_he_aggregate_seconds',
    help: 'Time to answer an encrypted (homomorphic) aggregate request, by outcome.',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    const metrics = this;
    new Gauge({
      name: 'keyhole_dp_epsilon_remaining',
      help: 'ε each agent with a declared budget may still spend this period (read from the ledger on scrape).',
      labelNames: ['agent'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!metrics.budgets) return;
        const remaining = await withinDeadline(metrics.budgets(), SCRAPE_READ_MS).catch(() => []);
        for (const { agent, epsilon } of remaining) this.set({ agent }, epsilon);
      },
    });
    new Gauge({
      name: 'keyhole_db_pool_connections',
      help: 'Database pool connections in use, and requests waiting for one.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        const stats = metrics.pool?.();
        if (!stats) return;
        this.set({ state: 'in_use' }, stats.inUse);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    const controlsOfScrape = async () => (metrics.controls ? withinDeadline(metrics.controls(), SCRAPE_READ_MS).catch(() => undefined) : undefined);
    new Gauge({
      name: 'keyhole_agent_anomalies_open',
      help: 'Open behavioural anomalies per agent (read from the database on scrape).',
      labelNames: ['agent'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { agent, count } of (await controlsOfScrape())?.openAnomalies ?? []) this.set({ agent }, count);
      },
    });
    new Gauge({
      name: 'keyhole_agent_quarantined',
      help: 'Agents quarantined by their behavioural baseline policy (1; read from the database on scrape).',
      labelNames: ['agent'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const agent of (await controlsOfScrape())?.quarantined ?? []) this.set({ agent }, 1);
      },
    });
    new Gauge({
      name: 'keyhole_audit_checkpoints_unappended',
      help: 'Signed audit checkpoints not yet appended to the sink outside the database (above 0 for long: the sink is failing).',
      registers: [this.registry],
      async collect() {
        this.reset();
        const count = metrics.unappendedCheckpoints ? await withinDeadline(metrics.unappendedCheckpoints(), SCRAPE_READ_MS).catch(() => undefined) : undefined;
        if (count !== undefined) this.set(count);
      },
    });
    // Event-loop lag, heap, GC and CPU of this process, under the same prefix.
    collectDefaultMetrics({ register: this.registry, prefix: 'keyhole_' });
  }

  /** Where the budget gauge reads from (the broker's ledger in force). */
  readBudgetsWith(budgets: BudgetsRemaining): void {
    this.budgets = budgets;
  }

  /** Where the anomaly and quarantine gauges read from. */
  readAgentControlsWith(controls: () => Promise<AgentControlsState>): void {
    this.controls = controls;
  }

  /** Where the unappended-checkpoints gauge reads from. */
  readUnappendedCheckpointsWith(count: () => Promise<number>): void {
    this.unappendedCheckpoints = count;
  }

  /** Where the pool gauge reads from. */
  readPoolWith(pool: () => PoolStats | undefined): void {
    this.pool = pool;
  }

  /** One answered request. */
  observeRequest(labels: RequestLabels, seconds: number): void {
    this.requests.inc(labels);
    this.requestSeconds.observe(labels, seconds);
  }

  /** The batcher's observer: one group commit, committed or rolled back. */
  readonly observeAuditBatch = (batch: AuditBatchObserved): void => {
    this.auditBatchSize.observe(batch.size);
    this.auditCommitSeconds.observe({ result: batch.committed ? 'committed' : 'failed' }, batch.seconds);
  };

  /** The Prometheus text exposition of every metric. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
