import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { periodResetsOn } from '../../src/dp/budget-figures.ts';
import { ENGINES } from '../support/databases.ts';
import { projectWith, withBudget } from '../support/project.ts';
import { useWorld } from '../support/world.ts';

/** The messages an agent developer meets in the first hour: each says what went wrong, with the value at fault. */
describe.each(ENGINES)("the agent developer's error messages on $engine", ({ create }) => {
  const world = useWorld(create, () => projectWith(withBudget({ epsilon: 2, maxEpsilonPerQuery: 1 })));
  let analytics: string;
  beforeAll(async () => {
    analytics = await world.kh.token('analytics-bot');
  });

  async function lastAudit() {
    const { rows } = await world.t.db.query<{ decision: string; code: string | null; reason: string | null }>(
      'SELECT decision, code, reason FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return rows[0]!;
  }

  const supportBotToken = (kid: string | undefined, key: CryptoKey) =>
    new SignJWT({ kh_kind: 'agent', purpose: 'customer_service' })
      .setProtectedHeader({ alg: 'EdDSA', ...(kid === undefined ? {} : { kid }) })
      .setSubject('support-bot')
      .setIssuer('keyhole')
      .setAudience('keyhole-broker')
      .setJti('devx-1')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);

  it('answers a token signed with a key it does not hold with TOKEN_INVALID naming both key ids', async () => {
    const { kid: held } = JSON.parse(await readFile(join(world.kh.dataDir, 'token-keys.json'), 'utf8')) as { kid: string };
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const reply = await world.kh.graphql(await supportBotToken('dev-elsewhere', privateKey), '{ viewer { agent } }');
    expect(reply.status).toBe(401);
    const error = reply.body.errors![0]!;
    expect(error.extensions?.code).toBe('TOKEN_INVALID');
    expect(error.message).toContain('signed with key "dev-elsewhere", which this broker does not hold');
    expect(error.message).toContain(`"${held}"`);
    expect(await lastAudit()).toMatchObject({ decision: 'denied', code: 'TOKEN_INVALID', reason: error.message });
  });

  it('does not blame the key when the token names the held key id but another key signed it', async () => {
    const { kid: held, privateJwk } = JSON.parse(await readFile(join(world.kh.dataDir, 'token-keys.json'), 'utf8'));
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await world.kh.graphql(await supportBotToken(held, privateKey), '{ viewer { agent } }');
    expect(forged.body.errors![0]).toMatchObject({ message: 'the token is not a valid Keyhole token', extensions: { code: 'TOKEN_INVALID' } });
    const genuine = await world.kh.graphql(await supportBotToken(held, (await importJWK(privateJwk, 'EdDSA')) as CryptoKey), '{ viewer { agent } }');
    expect(genuine.body.data).toEqual({ viewer: { agent: 'support-bot' } });
  });

  it('strips a field suggestion without leaving a mark, in the answer and in the audit reason', async () => {
    const reply = await world.kh.graphql(analytics, '{ viewer { agen } }');
    expect(reply.status).toBe(400);
    const error = reply.body.errors![0]!;
    expect(error.message).toMatch(/^Cannot query field "agen" on type "\w+"\.$/);
    expect((await lastAudit()).reason).toBe(error.message);
  });

  it.each([
    [-1, 'ε = -1'],
    [0, 'ε = 0'],
  ])('refuses ε = %s as INVALID_ARGUMENT, echoing the value', async (epsilon, echoed) => {
    const reply = await world.kh.graphql(analytics, `{ customers_aggregate(epsilon: ${epsilon}) { groups { count { value } } } }`);
    expect(reply.body.errors![0]!.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(reply.body.errors![0]!.message).toBe(`ε must be a finite number > 0; this query asks ${echoed}.`);
  });

  it('refuses a negative δ as INVALID_ARGUMENT, echoing it', async () => {
    const reply = await world.kh.graphql(analytics, '{ customers_aggregate(epsilon: 0.5, delta: -0.001) { groups { count { value } } } }');
    expect(reply.body.errors![0]).toMatchObject({
      message: 'δ must be a number from 0 to 1; this query asks δ = -0.001.',
      extensions: { code: 'INVALID_ARGUMENT' },
    });
  });

  it.each([25, 100])('refuses ε = %s over the per-query cap with PRIVACY_LIMIT_EXCEEDED, echoing it', async (epsilon) => {
    const reply = await world.kh.graphql(analytics, `{ customers_aggregate(epsilon: ${epsilon}) { groups { count { value } } } }`);
    expect(reply.body.errors![0]!.extensions?.code).toBe('PRIVACY_LIMIT_EXCEEDED');
    expect(reply.body.errors![0]!.message).toMatch(new RegExp(`^This query asks ε = ${epsilon} and δ = 0; each query may spend .* ≤ ε ≤ 1 `));
  });

  it('shows budget figures as exact decimals and says what still fits and when the budget resets', async () => {
    const ask = (tag: string, epsilon: number) =>
      world.kh.graphql(
        analytics,
        `{ customers_aggregate(epsilon: ${epsilon}, where: { segment: { ne: "${tag}" } }) { budget { period epsilonSpent epsilonRemaining } groups { count { value } } } }`,
      );
    expect((await ask('a', 0.7)).status).toBe(200);
    // In binary, 0.7 + 0.6 is 1.2999999999999998 and 2 − that is 0.7000000000000002.
    const second = (await ask('b', 0.6)).body.data!.customers_aggregate.budget;
    expect(second).toMatchObject({ epsilonSpent: 1.3, epsilonRemaining: 0.7 });
    const refused = await ask('c', 0.8);
    const error = refused.body.errors![0]!;
    const resetsOn = periodResetsOn(second.period);
    expect(error.extensions).toMatchObject({ code: 'BUDGET_EXHAUSTED', epsilonRemaining: 0.7, resetsOn });
    expect(error.message).toContain(
      `cannot cover ε=0.8 (spent 1.3 of 2); a request asking ε ≤ 0.7 in all (with δ = 0) still fits until it resets on ${resetsOn} (UTC)`,
    );
    expect((await ask('d', 0.7)).status).toBe(200);
  });
});
