import { addComposed, addCost, checkBudget, type ComposedCost, NO_COST, type PrivacyCost } from './accountant.ts';
import { budgetFigure } from './budget-figures.ts';
import { BudgetExhaustedError, type BudgetLedger, type BudgetRow, type BudgetState, composed, stateOf } from './ledger.ts';
import type { PrivacyRelease, RequestPrivacyCost } from '../request/state.ts';
import type { Queryable } from '../sql/index.ts';

/** One release a request makes (a DP aggregate field, an alias of one, noise added under encryption). */
/** A release as the request spends it: what its record keeps (PrivacyRelease), and what the accountant needs. */
export interface Release extends PrivacyRelease {
  /** The accountant's components of that cost. */
  costs: readonly PrivacyCost[];
  /** The answer to keep for replay, and the data it was computed from; stored only if the request's spend commits. */
  answer?: { value: unknown; dataVersion: number };
}

/**
 * Sequential composition within one request. Root fields of a GraphQL operation resolve concurrently, so each
 * release cannot lock and charge the ledger on its own (a lock does not block its own transaction, and the
 * last writer would win). Instead the request locks the agent's and the dataset's budget rows once, every
 * release adds its cost to the request's running total (checked against the locked rows: JavaScript runs one
 * release's check at a time), and `commit` writes the total in one ledger update, exact in PostgreSQL's numeric
 * arithmetic, in the request's own transaction, which commits its audit record too (a request with a privacy
 * release has one: see useTransactionScope; reads' records are group-committed instead). When any release does
 * not fit, the request answers nothing and stores nothing: the response is the one refusal `refusalMessage`
 * describes.
 */
export class RequestPrivacySpend {
  readonly ledger: BudgetLedger;
  readonly agentId: string;
  readonly period: string;
  private locked: Promise<BudgetRow[]> | null = null;
  private readonly releases: Release[] = [];
  private asked: ComposedCost = NO_COST;
  private askedEpsilon = 0;
  private refused: BudgetExhaustedError | null = null;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private committed = false;

  constructor(ledger: BudgetLedger, agentId: string) {
    this.ledger = ledger;
    this.agentId = agentId;
    this.period = ledger.period();
  }

  /** Locks the request's budget rows, once however many releases ask. */
  lock(tx: Queryable): Promise<BudgetRow[]> {
    this.locked ??= this.ledger.lock(tx, this.agentId, this.period);
    return this.locked;
  }

  /**
   * Runs `release` once per query key within the request: two aliases asking the identical query share one
   * release (and one charge) instead of drawing two noises for what the ledger would store as one answer.
   */
  once<T>(queryKey: string, release: () => Promise<T>): Promise<T> {
    let pending = this.inFlight.get(queryKey) as Promise<T> | undefined;
    if (!pending) {
      pending = release();
      this.inFlight.set(queryKey, pending);
    }
    return pending;
  }

  /**
   * Adds a release to the request's total; the budget states after the total so far, or BudgetExhaustedError
   * when the total no longer fits a locked budget (the request then releases nothing).
   */
  async charge(tx: Queryable, release: Release): Promise<BudgetState[]> {
    const locked = await this.lock(tx);
    this.releases.push(release);
    if (release.replayed) return locked.map((row) => stateOf(row, this.spentAfter(row)));
    this.asked = release.costs.reduce(addCost, this.asked);
    this.askedEpsilon += release.epsilon;
    const over = locked.find((row) => !fits(this.spentAfter(row), row));
    if (over) {
      this.refused ??= new BudgetExhaustedError(over.scope, this.askedEpsilon, stateOf(over));
      throw this.refused;
    }
    return locked.map((row) => stateOf(row, this.spentAfter(row), row.queries + 1));
  }

  private spentAfter(row: BudgetRow): ComposedCost {
    return addComposed(composed(row), this.asked);
  }

  /** Whether a release of this request was refused: then the whole request is. */
  get exhausted(): boolean {
    return this.refused !== null;
  }

  /** The refusal for the whole request: the total it asked and what the tighter budget had left. */
  refusalMessage(): string {
    const locked = this.releases.length;
    return `This request's ${locked} privacy release${locked === 1 ? '' : 's'} ask ε=${budgetFigure(this.askedEpsilon)} in all; ${this.refused!.message}. Nothing was released or charged.`;
  }

  /** What the refusal adds to its error's extensions: what still fits (of the agent's own budget), and when the budget is whole again. */
  refusalExtensions(): { epsilonRemaining?: number; resetsOn: string } {
    const { epsilonRemaining, resetsOn } = this.refused!;
    return epsilonRemaining === undefined ? { resetsOn } : { epsilonRemaining, resetsOn };
  }

  /**
   * Writes the request's total to the ledger (one update per budget row) and keeps its answers for replay, after a
   * savepoint: a stage that refuses the answer later in the transaction (the compliance gate) calls `withdraw`.
   */
  async commit(tx: Queryable): Promise<void> {
    if (this.refused) throw this.refused;
    const charged = this.releases.filter((r) => !r.replayed);
    if (charged.length === 0) return;
    await tx.query(`SAVEPOINT ${SAVEPOINT}`);
    this.committed = true;
    await this.ledger.spendTotal(
      tx,
      await this.lock(tx),
      charged.flatMap((r) => r.costs),
    );
    for (const release of charged) {
      if (release.queryKey && release.answer) {
        await this.ledger.storeAnswer(tx, this.agentId, this.period, release.queryKey, release.answer.dataVersion, release.answer.value, {
          epsilon: release.epsilon,
          delta: release.delta,
          rho: release.rho,
          mechanism: release.mechanism,
        });
      }
    }
  }

  /**
   * Undoes `commit` when the answer is refused after all: a request that releases nothing is charged nothing, and
   * an answer that never left is no answer to replay.
   */
  async withdraw(tx: Queryable): Promise<void> {
    if (!this.committed) return;
    await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    this.committed = false;
  }

  /** The audit record's privacy cost: the total charged and each release (replays at zero). */
  auditCost(): RequestPrivacyCost | null {
    if (this.releases.length === 0) return null;
    const charged = this.releases.filter((r) => !r.replayed);
    const rhos = charged.map((r) => r.rho).filter((rho): rho is number => rho !== null);
    const mechanisms = [...new Set(this.releases.map((r) => r.mechanism))];
    return {
      mechanism: mechanisms.length === 1 ? mechanisms[0]! : 'mixed',
      replayed: charged.length === 0,
      epsilon: sum(charged.map((r) => r.epsilon)),
      delta: sum(charged.map((r) => r.delta)),
      rho: rhos.length > 0 ? sum(rhos) : null,
      releases: this.releases.map((r) => ({
        field: r.field,
        table: r.table,
        mechanism: r.mechanism,
        epsilon: r.replayed ? 0 : r.epsilon,
        delta: r.replayed ? 0 : r.delta,
        rho: r.replayed ? (r.rho === null ? null : 0) : r.rho,
        replayed: r.replayed,
        ...(r.queryKey ? { queryKey: r.queryKey } : {}),
      })),
    };
  }
}

const SAVEPOINT = 'keyhole_privacy_spend';

const fits = (spent: ComposedCost, row: BudgetRow) => checkBudget(spent, { epsilon: Number(row.epsilon_limit), delta: Number(row.delta_limit) }).withinBudget;

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

const spends = new WeakMap<object, RequestPrivacySpend>();

/** The request's spend (envelop's per-request WeakMap pattern), created by its first release. */
export function requestPrivacySpend(request: object, ledger: BudgetLedger, agentId: string): RequestPrivacySpend {
  let spend = spends.get(request);
  if (!spend) {
    spend = new RequestPrivacySpend(ledger, agentId);
    spends.set(request, spend);
  }
  return spend;
}

/** The request's spend if any release made one. */
export function existingPrivacySpend(request: object): RequestPrivacySpend | undefined {
  return spends.get(request);
}
