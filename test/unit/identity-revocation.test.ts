import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentStatuses, isRevoked, RevocationGate, restoreAgent, revokeAgent } from '../../src/identity/index.ts';
import { migrate } from '../../src/sql/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

describe('revocation is read from the shared database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
  });
  afterAll(() => t.drop());
  beforeEach(() => t.db.exec('DELETE FROM agent_status'));

  it('revokes with who and why, and restores', async () => {
    expect(await isRevoked(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'prompt injection');
    expect(await isRevoked(t.db, 'fraud-bot')).toEqual({ revoked: true, reason: 'prompt injection' });
    await revokeAgent(t.db, 'fraud-bot', 'ciso', 'still suspicious');
    const status = (await agentStatuses(t.db)).get('fraud-bot');
    expect(status).toMatchObject({ agentId: 'fraud-bot', revokedBy: 'ciso', reason: 'still suspicious' });
    expect(status?.revokedAt).toBeInstanceOf(Date);
    await restoreAgent(t.db, 'fraud-bot');
    expect(await isRevoked(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
    expect((await agentStatuses(t.db)).get('fraud-bot')).toEqual({ agentId: 'fraud-bot', revokedAt: null, revokedBy: null, reason: null });
  });

  it('refuses up front only an agent it has seen revoked, until that agent is restored', async () => {
    const gate = new RevocationGate();
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'leak');
    // Not seen yet: the binding check in the record's transaction is where it is caught first.
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
    expect(await gate.revokedNow(t.db, ['fraud-bot', 'support-bot'])).toEqual(new Map([['fraud-bot', 'leak']]));
    // Every request while it stays revoked, not only the first.
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: true, reason: 'leak' });
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: true, reason: 'leak' });
    expect(await gate.refusesUpFront(t.db, 'support-bot')).toEqual({ revoked: false, reason: null });
    await restoreAgent(t.db, 'fraud-bot');
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
    // Forgotten once seen restored: revoking again is not noticed up front until the next binding check.
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'again');
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
  });

  it('forgets an agent the binding check finds restored', async () => {
    const gate = new RevocationGate();
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'leak');
    await gate.revokedNow(t.db, ['fraud-bot']);
    await restoreAgent(t.db, 'fraud-bot');
    expect(await gate.revokedNow(t.db, ['fraud-bot'])).toEqual(new Map());
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'again');
    expect(await gate.refusesUpFront(t.db, 'fraud-bot')).toEqual({ revoked: false, reason: null });
    expect(await gate.revokedNow(t.db, [])).toEqual(new Map());
  });
});
