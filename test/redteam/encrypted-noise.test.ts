import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeyDirectory } from '../../src/cli/he-command.ts';
import { clearPublicMaterialCache, encryptColumn, generateKeys, writeKeyDirectory } from '../../src/he/index.ts';
import { epsilonSpent } from '../support/dp.ts';
import { useRedTeam } from './support.ts';

const QUERY = `query($weights: EmployeeEncryptedWeights!, $epsilon: Float!) {
  employees_encrypted(key: "payroll", aggregate: { op: WEIGHTED_SUM, column: salary, weights: $weights }, noise: { epsilon: $epsilon }) { rowCount epsilonSpent }
}`;

/**
 * Noise under encryption is drawn in the broker and added to a total only the key holder opens. The sum must stay
 * within the BFV plain modulus, and a draw that would leave it cannot be answered. If that refusal came after the
 * draw and cost nothing, an agent could repeat the request until a draw fits: the key holder would then open only
 * totals whose noise was cut off at the modulus, which no longer hides one person's weighted salary (ε-DP needs the
 * noise's whole tail), and the refused draws cost no budget. So whether a noisy request is answered must not depend
 * on the noise drawn for it.
 */
describe('red team: retrying noise under encryption until it fits', () => {
  const rt = useRedTeam();
  let keyDir: string;

  beforeAll(async () => {
    keyDir = join(await mkdtemp(join(tmpdir(), 'keyhole-redteam-he-')), 'keys');
    await writeKeyDirectory(keyDir, await generateKeys('bfv'));
    await registerKeyDirectory(rt.t.db, keyDir, 'payroll');
    await encryptColumn({ db: rt.t.db, table: 'employees', column: 'salary', idColumn: 'id', keyName: 'payroll', bounds: [0, 1_000_000] });
  });
  afterAll(async () => {
    clearPublicMaterialCache();
    await rm(join(keyDir, '..'), { recursive: true, force: true });
  });

  const spent = () => epsilonSpent(rt.t.db, 'fraud-bot');
  const ask = async (weight: number, epsilon: number) =>
    rt.kh.graphql(await rt.token('fraud-bot', 'payroll_analytics'), QUERY, {
      weights: { by: 'department', weights: [{ value: 'risk', weight }], otherwise: 0 },
      epsilon,
    });

  it('refuses a noisy total whose noise could leave the plain modulus every time, before drawing it, and charges nothing', async () => {
    // Sensitivity 400 × 10⁶ at ε/2 = 0.0005: the noise's scale is 8·10¹¹, beyond the modulus's ±5.5·10¹¹ about half the time.
    const before = await spent();
    const replies = await rt.contained(() => ask(400, 0.001), { status: 400, code: 'HE_OVERFLOW' }, { bystander: 'support-bot', copies: 20 });
    expect(new Set(replies.map((reply) => reply.body.errors![0]!.message)).size).toBe(1);
    expect(await spent()).toBe(before);
  });

  it('answers a noisy total whose noise fits every time, each answer charged', async () => {
    const before = await spent();
    for (let i = 0; i < 5; i++) {
      const reply = await ask(1, 0.01);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.data!.employees_encrypted.epsilonSpent).toBe(0.01);
    }
    expect(await spent()).toBeCloseTo(before + 0.05, 12);
  });
});
