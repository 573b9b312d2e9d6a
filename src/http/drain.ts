/**
 * A broker's shutdown state. Once draining, readiness fails and new GraphQL requests are refused; `flush`
 * waits for the work that must finish before the database closes (the audit batcher's pending records), and
 * `stop` ends background work (its retries) when the database is about to close.
 */
export class Drain {
  private started = false;
  private readonly flushes: Array<() => Promise<void>> = [];
  private readonly stops: Array<() => void> = [];

  get draining(): boolean {
    return this.started;
  }

  start(): void {
    this.started = true;
  }

  onFlush(flush: () => Promise<void>): void {
    this.flushes.push(flush);
  }

  async flush(): Promise<void> {
    await Promise.all(this.flushes.map((flush) => flush()));
  }

  onStop(stop: () => void): void {
    this.stops.push(stop);
  }

  stop(): void {
    for (const stop of this.stops) stop();
  }
}
