import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { ENGINES } from '../support/databases.ts';
import { useWorld } from '../support/world.ts';

/**
 * The audits of graphql-http's GraphQL-over-HTTP suite that Keyhole fails on purpose, and why. Every other
 * audit must pass; each of these must still fail, so the list cannot outlive the reason it gives.
 */
const EXPECTED_FAILURES: Record<string, string> = {
  '5A70': 'GET is refused (405): a GET is a request any page can make cross-site without a preflight (CSRF), and agents never need it.',
  D6D5: 'GET is refused (405), so variables in a GET URL are too.',
  '6A70': 'GET is refused (405), so variables in a GET URL are too.',
  '572B':
    'A refused query is a 400 whatever Accept says (README, error codes): the legacy 200 hides a parse failure from proxies, logs and status-checking clients.',
  FDE2: 'A refused query is a 400 whatever Accept says: a validation failure too.',
  '7B9B': 'A refused query is a 400 whatever Accept says: variables that do not fit the view are INVALID_ARGUMENT.',
};

describe.each(ENGINES)('graphql-http server audits on $engine', ({ create }) => {
  const world = useWorld(create);
  const records = async () => Number((await world.t.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_log')).rows[0]!.n);

  it.each([
    { path: '/graphql', principal: 'support-bot' },
    { path: '/officer/graphql', principal: 'dpo' },
  ])('$path (as $principal): every audit passes but the expected failures, and every request is recorded once', async ({ path, principal }) => {
    const token = await world.kh.token(principal);
    let requests = 0;
    const fetchFn = (input: string, init: RequestInit = {}) => {
      requests += 1;
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return world.kh.broker.fetch(new Request(input, { ...init, headers }));
    };
    const before = await records();
    const outcomes: Record<string, string> = {};
    for (const audit of serverAudits({ url: `http://keyhole.test${path}`, fetchFn })) {
      const result = await audit.fn();
      outcomes[audit.id] = result.status === 'ok' ? 'ok' : `${result.status}: ${audit.name}: ${result.reason}`;
    }
    const failed = Object.entries(outcomes).filter(([, outcome]) => outcome !== 'ok');
    expect(Object.fromEntries(failed.filter(([id]) => !(id in EXPECTED_FAILURES)))).toEqual({});
    expect(failed.map(([id]) => id).sort()).toEqual(Object.keys(EXPECTED_FAILURES).sort());
    expect(Object.keys(outcomes).length).toBeGreaterThan(50);
    expect(await records()).toBe(before + requests);
  });

  it('leaves an audit chain that verifies', async () => {
    expect(await verifyAuditChain(world.t.db, world.kh.broker.secrets.auditKey)).toMatchObject({ ok: true });
  });
});
