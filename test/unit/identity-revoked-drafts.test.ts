import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationGate, revokeAgent } from '../../src/identity/index.ts';
import { refuseRevokedAgents, revokedMeanwhile, revokedMessage } from '../../src/identity/revoked-drafts.ts';
import { migrate } from '../../src/sql/index.ts';
import { auditDraft } from '../support/audit.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';

describe('an answer to an agent revoked before its record commits is never sent', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await migrate(t.db);
    await revokeAgent(t.db, 'fraud-bot', 'dpo', 'prompt injection');
  });
  afterAll(() => t.drop());

  const answered = (actorId: string | null, overrides = {}) =>
    auditDraft({
      actorId,
      tables: ['customers'],
      fields: [{ table: 'customers', field: 'email', mask: 'email', rule: 'r1' }],
      rowCount: 2,
      subjects: new Map([['customer:1', 'DE']]),
      ...overrides,
    });

  it('turns a revoked agent’s allowed draft into an AGENT_REVOKED denial that returned nothing', async () => {
    const draft = answered('fraud-bot');
    const [settled] = await refuseRevokedAgents(new RevocationGate())(t.db, [draft]);
    expect(settled).toEqual({
      ...draft,
      decision: 'denied',
      code: 'AGENT_REVOKED',
      reason: 'Agent "fraud-bot" has been revoked.',
      tables: [],
      fields: [],
      rowCount: 0,
      subjects: new Map(),
    });
    expect(revokedMessage('x')).toBe('Agent "x" has been revoked.');
    expect(revokedMeanwhile(draft, settled!)).toBe(true);
  });

  it('leaves every other draft as it is: other agents, denials, officers and anonymous callers', async () => {
    const drafts = [
      answered('support-bot'),
      answered('fraud-bot', { decision: 'denied', code: 'FIELD_HIDDEN' }),
      answered('fraud-bot', { actorKind: 'officer' }),
      answered(null),
    ];
    const settled = await refuseRevokedAgents(new RevocationGate())(t.db, drafts);
    expect(settled).toEqual(drafts);
    settled.forEach((s, i) => {
      expect(revokedMeanwhile(drafts[i]!, s)).toBe(false);
    });
  });

  it('settles a batch of several agents in order, asking the database once per distinct agent', async () => {
    const asked: string[][] = [];
    const gate = new RevocationGate();
    const revokedNow = gate.revokedNow.bind(gate);
    gate.revokedNow = (db, ids) => {
      asked.push([...ids]);
      return revokedNow(db, ids);
    };
    const drafts = [answered('fraud-bot'), answered('support-bot'), answered('fraud-bot'), answered(null)];
    const settled = await refuseRevokedAgents(gate)(t.db, drafts);
    expect(settled.map((s) => s.code)).toEqual(['AGENT_REVOKED', null, 'AGENT_REVOKED', null]);
    expect(asked).toEqual([['fraud-bot', 'support-bot']]);
  });

  it('does not count as revoked meanwhile a draft that was already a denial', () => {
    const denied = answered('fraud-bot', { decision: 'denied', code: 'AGENT_REVOKED' });
    expect(revokedMeanwhile(denied, denied)).toBe(false);
    expect(revokedMeanwhile(answered('fraud-bot'), { decision: 'denied', code: 'FIELD_HIDDEN' })).toBe(false);
  });
});
