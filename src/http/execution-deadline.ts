import type { ExecutionResult } from 'graphql';

/** Raised where a request's late work would commit, or be answered: past its deadline it must do neither. */
class PastDeadline extends Error {
  constructor() {
    super('request outlived its deadline');
  }
}

/**
 * One request's deadline while it executes. When it passes, `answer` settles with what `onExpiry` makes of it (a
 * recorded refusal) and the request is answered at once; the work still running commits nothing, because it calls
 * `check` before anything of it commits or is answered. Work that never yields to the timer (embedded PGlite runs
 * a statement in one go) is judged by that `check` when it ends.
 */
export class ExecutionDeadline {
  readonly answer: Promise<ExecutionResult>;
  private readonly ms: number;
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly expire: () => void;
  private passed = false;

  constructor(ms: number, onExpiry: () => Promise<ExecutionResult>) {
    this.ms = ms;
    const { promise, resolve } = Promise.withResolvers<ExecutionResult>();
    this.answer = promise;
    this.expire = () => {
      if (this.passed) return;
      this.passed = true;
      clearTimeout(this.timer);
      void onExpiry().then(resolve);
    };
    this.timer = setTimeout(this.expire, ms);
  }

  get expired(): boolean {
    return this.passed;
  }

  /** Throws once the deadline has passed, answering the request first if the timer has not yet. */
  check(): void {
    if (performance.now() - this.startedAt >= this.ms) this.expire();
    if (this.passed) throw new PastDeadline();
  }

  /** The request has been answered: no timer outlives it. */
  clear(): void {
    clearTimeout(this.timer);
  }
}
