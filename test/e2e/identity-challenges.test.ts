import { describe, expect, it } from 'vitest';
import type { TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase } from '../support/databases.ts';
import { projectWith } from '../support/project.ts';
import { useWorld } from '../support/world.ts';

// RFC 9449 §7.1 and RFC 9728 §5.1: a 401 tells a client how to get a token it will be served with, before it has one.

const ORIGIN = 'http://localhost';
const METADATA = `resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource"`;
const DPOP = `DPoP algs="EdDSA ES256 RS256 PS256", ${METADATA}`;
const BEARER = (realm: string) => `Bearer realm="${realm}", ${METADATA}`;

/** The WWW-Authenticate of a POST to `path` with `authorization` (or none), and the refusal's code. */
async function challenge(kh: TestBroker, path: string, authorization?: string) {
  const response = await kh.broker.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query: '{ __typename }' }),
    }),
  );
  const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
  expect(response.status).toBe(401);
  return { code: body.errors[0]!.extensions.code, header: response.headers.get('www-authenticate') };
}

async function metadata(kh: TestBroker) {
  const response = await kh.broker.fetch(new Request(`${ORIGIN}/.well-known/oauth-protected-resource`));
  return (await response.json()) as Record<string, unknown>;
}

describe('a broker that requires DPoP of every token (schema/issuers.yaml dpop.required)', () => {
  const world = useWorld(createPgliteTestDatabase, async () => projectWith({ 'schema/issuers.yaml': () => 'issuers: []\ndpop:\n  required: true\n' }));

  it('challenges a request without a token with DPoP beside Bearer on every door, and says so in its metadata', async () => {
    expect(await challenge(world.kh, '/graphql')).toEqual({ code: 'UNAUTHENTICATED', header: `${BEARER('keyhole')}, ${DPOP}` });
    expect(await challenge(world.kh, '/mcp')).toEqual({ code: 'UNAUTHENTICATED', header: `${BEARER('keyhole')}, ${DPOP}` });
    expect(await challenge(world.kh, '/officer/graphql')).toEqual({ code: 'UNAUTHENTICATED', header: `${BEARER('keyhole-officer')}, ${DPOP}` });
    expect(await metadata(world.kh)).toMatchObject({ dpop_bound_access_tokens_required: true });
  });
});

describe('a broker where one agent requires DPoP', () => {
  const world = useWorld(createPgliteTestDatabase, () =>
    projectWith({
      'schema/agents.yaml': (text) =>
        text.replace('    location: EU-DE\n    zone: production\n', '    location: EU-DE\n    zone: production\n    requireDpop: true\n'),
    }),
  );

  it('challenges with Bearer alone a request without a token, and publishes that DPoP is not required broker-wide', async () => {
    expect(await challenge(world.kh, '/graphql')).toEqual({ code: 'UNAUTHENTICATED', header: BEARER('keyhole') });
    expect(await metadata(world.kh)).toMatchObject({ dpop_bound_access_tokens_required: false });
  });

  it("adds the DPoP challenge for that agent's expired token, whose signature named it; never for a forged one", async () => {
    const fraud = await world.kh.token('fraud-bot', undefined, '1s');
    const support = await world.kh.token('support-bot', undefined, '1s');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await challenge(world.kh, '/graphql', `Bearer ${fraud}`)).toEqual({ code: 'TOKEN_EXPIRED', header: `${BEARER('keyhole')}, ${DPOP}` });
    expect(await challenge(world.kh, '/graphql', `Bearer ${support}`)).toEqual({ code: 'TOKEN_EXPIRED', header: BEARER('keyhole') });
    // Another's token with its signature broken names fraud-bot, unproven: it learns nothing of fraud-bot's policy.
    const forged = `${(await world.kh.token('fraud-bot')).slice(0, -4)}AAAA`;
    expect(await challenge(world.kh, '/graphql', `Bearer ${forged}`)).toEqual({ code: 'TOKEN_INVALID', header: BEARER('keyhole') });
  });
});
