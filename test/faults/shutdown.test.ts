import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from './broker-process.ts';
import { driveLoad } from './load.ts';
import { createFaultWorld, type FaultWorld, report, sleep } from './world.ts';

describe('SIGTERM under load', () => {
  let world: FaultWorld;
  let broker: BrokerProcess;

  beforeAll(async () => {
    world = await createFaultWorld();
    broker = await world.startBroker();
  });
  afterAll(async () => {
    broker?.child.kill('SIGKILL');
    await world?.close();
  });

  it('drains: every answer it gave is recorded, what arrives meanwhile is refused and recorded, exit code 0', async () => {
    const target = await world.target(() => broker);
    let exitCode: number | null = -1;
    const fault = (async () => {
      await sleep(1500);
      broker.child.kill('SIGTERM');
      exitCode = await broker.exited;
      // The clients keep trying for a moment against the closed port (connection refused: no answer at all).
      await sleep(300);
    })();
    const answers = await driveLoad(target, 8, fault);
    await fault;
    expect(exitCode).toBe(0);
    // Not one request cut off mid-answer or answered DATABASE_UNAVAILABLE because the pool closed under it.
    const codes = new Set(answers.filter((answer) => !answer.withData && !answer.failed).map((answer) => answer.code));
    expect([...codes].filter((code) => code !== 'SHUTTING_DOWN')).toEqual([]);
    const check = await world.audit(answers);
    report('SIGTERM under load', check, {
      'SHUTTING_DOWN answers': answers.filter((answer) => answer.code === 'SHUTTING_DOWN').length,
      'connections refused after exit': answers.filter((answer) => answer.failed).length,
    });
    expect(check.withData).toBeGreaterThan(0);
    expect(check.missing).toBe(0);
    expect(check.answeredWithoutRecord).toBe(0);
    expect(check.ledgerEpsilon).toBeCloseTo(check.recordedEpsilon, 9);
    expect(check.chainOk).toBe(true);
    expect(broker.output()).not.toMatch(/Cannot use a pool after calling end/);
  });
});
