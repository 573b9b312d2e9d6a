import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, ready, waitFor } from './broker-process.ts';
import { driveLoad } from './load.ts';
import { createFaultWorld, type FaultWorld, report, sleep } from './world.ts';

// Faults injected under bounded concurrent load, on a PostgreSQL cluster of the suite's own. After each: the
// broker serves again, every answer that carried data has its committed record, the DP ledger holds exactly the
// ε of the committed records, and the audit chain verifies.
describe('database faults under load', () => {
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

  const expectIntact = async (fault: string, answers: Awaited<ReturnType<typeof driveLoad>>, extra: Record<string, unknown> = {}) => {
    const check = await world.audit(answers);
    report(fault, check, extra);
    expect(check.withData).toBeGreaterThan(0);
    expect(check.missing).toBe(0);
    expect(check.ledgerEpsilon).toBeCloseTo(check.recordedEpsilon, 9);
    expect(check.chainOk).toBe(true);
    return check;
  };

  it('survives PostgreSQL stopping (immediate) and restarting mid-load, and serves again within seconds', async () => {
    const target = await world.target(() => broker);
    let outageReadiness = 0;
    let recoveryMs = 0;
    const fault = (async () => {
      await sleep(1500);
      await world.cluster.stopImmediately();
      await sleep(1500);
      outageReadiness = await fetch(`${broker.base}/readyz`).then(
        (response) => response.status,
        () => 0,
      );
      await world.cluster.start();
      recoveryMs = await waitFor(ready(broker.base), 15_000, 'readiness after the restart');
      await sleep(1500);
    })();
    const answers = await driveLoad(target, 8, fault);
    await fault;
    expect(broker.child.exitCode).toBeNull();
    expect(outageReadiness).toBe(503);
    const unavailable = answers.filter((answer) => answer.code === 'DATABASE_UNAVAILABLE').length;
    expect(answers.filter((answer) => answer.status === 500)).toEqual([]);
    expect(answers.filter((answer) => answer.failed)).toEqual([]);
    // Serving again: fresh requests after the restart all carry data.
    const after = await driveLoad(target, 4, sleep(500));
    expect(after.every((answer) => answer.withData)).toBe(true);
    // The refusals of the outage are recorded once the database is back (the batcher retries every second).
    await sleep(2500);
    const check = await expectIntact('PostgreSQL stop -m immediate + restart', [...answers, ...after], {
      'DATABASE_UNAVAILABLE answers': unavailable,
      'ready again after ms': Math.round(recoveryMs),
    });
    expect(check.answeredWithoutRecord).toBe(0);
  });

  it('refuses with AUDIT_UNAVAILABLE and reports not ready while audit writes are blocked, then recovers', async () => {
    const target = await world.target(() => broker);
    const admin = new pg.Client({ connectionString: world.cluster.url });
    await admin.connect();
    let blockedReadiness = 0;
    const fault = (async () => {
      await sleep(1000);
      await admin.query('ALTER TABLE audit_log ADD CONSTRAINT audit_blocked CHECK (seq < 0) NOT VALID');
      await sleep(1500);
      blockedReadiness = (await fetch(`${broker.base}/readyz`)).status;
      await admin.query('ALTER TABLE audit_log DROP CONSTRAINT audit_blocked');
      await waitFor(ready(broker.base), 5000, 'readiness once audit writes are allowed');
      await sleep(1000);
    })();
    const answers = await driveLoad(target, 8, fault).finally(() => admin.end());
    await fault;
    expect(blockedReadiness).toBe(503);
    const refused = answers.filter((answer) => answer.code === 'AUDIT_UNAVAILABLE');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((answer) => answer.status === 503 && !answer.withData)).toBe(true);
    await sleep(2500);
    const check = await expectIntact('audit writes blocked (CHECK constraint) then unblocked', answers, { 'AUDIT_UNAVAILABLE answers': refused.length });
    expect(check.answeredWithoutRecord).toBe(0);
  });

  it('loses no record when the broker is killed (SIGKILL) mid-load and another takes over', async () => {
    const target = await world.target(() => broker);
    const fault = (async () => {
      await sleep(1500);
      broker.child.kill('SIGKILL');
      await broker.exited;
      broker = await world.startBroker();
      await sleep(1500);
    })();
    const answers = await driveLoad(target, 8, fault);
    await fault;
    await expectIntact('broker SIGKILL mid-load + restart', answers, {
      'requests unanswered (killed in flight, or sent while no broker listened)': answers.filter((answer) => answer.failed).length,
    });
  });
});
