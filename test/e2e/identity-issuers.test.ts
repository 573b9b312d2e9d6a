import { createServer, type Server } from 'node:http';
import { decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPostgresTestDatabase, type TestDatabase } from '../support/databases.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-provider.ts';
import { freePort } from '../support/ports.ts';

const QUERY = '{ viewer { agent } }';
const PURPOSE_SCOPE = 'purpose:customer_service';
/** A client id that is not an agent id, as Entra ID's application GUIDs are not. */
const ENTRA_STYLE_CLIENT = '6f1c2b9e-0d4a-4c3e-9b7a-2f5d8e1a7c40';

/**
 * A broker that trusts one real OpenID provider (started here) through KEYHOLE_ISSUERS, served over HTTP so that a
 * standard OAuth client can discover it, against a real PostgreSQL database.
 */
describe('tokens from a trusted identity provider', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let idp: TestIssuer;
  let server: Server;
  let resource: string;

  beforeAll(async () => {
    const port = await freePort();
    resource = `http://127.0.0.1:${port}`;
    idp = await startTestIssuer({
      resource,
      clients: ['support-bot', 'fraud-bot', 'kyc-bot', 'dpo', ENTRA_STYLE_CLIENT],
      // A person the provider knows as "dpo" whose claims say officer: what a hostile or careless provider could send.
      persons: { dpo: { kh_kind: 'officer' } },
    });
    t = await createPostgresTestDatabase();
    await loadWorld(t.db);
    const issuers = {
      issuers: [
        {
          issuer: idp.issuer,
          algorithms: ['ES256', 'EdDSA'],
          maxLifetime: '1h',
          keyRefreshCooldown: 0,
          keysMaxAge: 0,
          agents: { [ENTRA_STYLE_CLIENT]: 'analytics-bot' },
        },
        // Its discovery document (the provider's) names the issuer without the slash: a mix-up the broker refuses.
        { issuer: `${idp.issuer}/`, algorithms: ['ES256'] },
      ],
    };
    kh = await startTestBroker(t.db, { env: { KEYHOLE_RESOURCE: resource, KEYHOLE_ISSUERS: JSON.stringify(issuers) } });
    server = createServer(kh.broker.listener);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await kh?.close();
    await t?.drop();
    await idp?.stop();
  });

  const ccToken = (clientId = 'support-bot', request: oauth.JsonObject = {}) => idp.clientCredentialsToken(clientId, { scope: PURPOSE_SCOPE, ...request });

  async function refusal(token: string) {
    const reply = await kh.graphql(token, QUERY);
    return { status: reply.status, code: reply.body.errors?.[0]?.extensions?.code, message: reply.body.errors?.[0]?.message ?? '' };
  }

  async function auditOf(requestId: string) {
    const { rows } = await t.db.query<{ decision: string; actor_id: string | null; code: string | null }>(
      'SELECT decision, actor_id, code FROM audit_log WHERE request_id = $1',
      [requestId],
    );
    return rows[0];
  }

  it('accepts a client-credentials token naming a registered agent, and records that agent', async () => {
    const reply = await kh.graphql(await ccToken(), QUERY);
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ viewer: { agent: 'support-bot' } });
    expect(await auditOf(reply.requestId!)).toMatchObject({ decision: 'allowed', actor_id: 'support-bot' });
  });

  it("maps a client id that is not an agent id to the agent the issuer's entry names", async () => {
    const reply = await kh.graphql(await ccToken(ENTRA_STYLE_CLIENT, { scope: 'purpose:analytics' }), QUERY);
    expect(reply.body.data).toEqual({ viewer: { agent: 'analytics-bot' } });
    expect(await auditOf(reply.requestId!)).toMatchObject({ decision: 'allowed', actor_id: 'analytics-bot' });
  });

  it('follows a key rotation without a restart; tokens signed with the old key are valid while it is published', async () => {
    const beforeRotation = await ccToken();
    await idp.rotateKeys({ keepOld: true });
    const afterRotation = await ccToken();
    expect(decodeProtectedHeader(afterRotation).kid).not.toBe(decodeProtectedHeader(beforeRotation).kid);
    expect((await kh.graphql(afterRotation, QUERY)).status).toBe(200);
    expect((await kh.graphql(beforeRotation, QUERY)).status).toBe(200);

    // keysMaxAge 0: the broker fetches the keys again on each new token, so a withdrawn key stops at once.
    const withdrawn = await ccToken();
    await idp.rotateKeys({ keepOld: false });
    expect(await refusal(withdrawn)).toMatchObject({
      status: 401,
      code: 'TOKEN_INVALID',
      message: expect.stringContaining('a key this issuer does not publish'),
    });
    expect((await kh.graphql(await ccToken(), QUERY)).status).toBe(200);
  });

  it('refuses a token signed with a key the provider does not publish', async () => {
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    const forged = await new SignJWT({ client_id: 'support-bot', scope: PURPOSE_SCOPE })
      .setProtectedHeader({ alg: 'ES256', kid: 'made-up-kid' })
      .setIssuer(idp.issuer)
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign((await generateKeyPair('ES256')).privateKey);
    expect(jwks.keys.map((key) => key.kid)).not.toContain('made-up-kid');
    expect(await refusal(forged)).toMatchObject({ status: 401, code: 'TOKEN_INVALID', message: expect.stringContaining('a key this issuer does not publish') });
  });

  it('fetches the keys at most once per cooldown under a flood of tokens with made-up key ids, refusing each', async () => {
    // A second broker on the same database whose issuer entry keeps jose's default-like cooldown (the first has 0).
    const cooled = await startTestBroker(t.db, {
      env: {
        KEYHOLE_RESOURCE: resource,
        KEYHOLE_ISSUERS: JSON.stringify({ issuers: [{ issuer: idp.issuer, algorithms: ['ES256'], keyRefreshCooldown: 60 }] }),
      },
    });
    try {
      expect((await cooled.graphql(await ccToken(), QUERY)).status).toBe(200);
      const fetchesBefore = idp.requestsTo('/jwks');
      const key = (await generateKeyPair('ES256')).privateKey;
      const flood = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          new SignJWT({ client_id: 'support-bot', scope: PURPOSE_SCOPE })
            .setProtectedHeader({ alg: 'ES256', kid: `made-up-${i}` })
            .setIssuer(idp.issuer)
            .setAudience(resource)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(key),
        ),
      );
      for (const token of flood) expect((await cooled.graphql(token, QUERY)).status).toBe(401);
      expect(idp.requestsTo('/jwks') - fetchesBefore).toBeLessThanOrEqual(1);
    } finally {
      await cooled.close();
    }
  });

  it('goes on with the keys fetched last while the provider is down, refuses an unknown key as unavailable, and recovers', async () => {
    const cachedKey = await ccToken();
    await idp.rotateKeys({ keepOld: true });
    const newKey = await ccToken();
    await idp.stop();
    try {
      expect((await kh.graphql(cachedKey, QUERY)).status).toBe(200);
      const reply = await kh.graphql(newKey, QUERY);
      expect(reply.status).toBe(503);
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('ISSUER_UNAVAILABLE');
      expect(reply.body.errors?.[0]?.message).toContain(`the identity provider ${idp.issuer} cannot be reached`);
      expect(await auditOf(reply.requestId!)).toMatchObject({ decision: 'denied', code: 'ISSUER_UNAVAILABLE' });
    } finally {
      await idp.start();
    }
    expect((await kh.graphql(newKey, QUERY)).status).toBe(200);
  });

  it('refuses a token from an issuer it does not trust', async () => {
    const stranger = await startTestIssuer({ resource });
    try {
      expect(await refusal(await stranger.clientCredentialsToken('support-bot', { scope: PURPOSE_SCOPE }))).toMatchObject({
        status: 401,
        code: 'TOKEN_INVALID',
        message: `the token's issuer "${stranger.issuer}" is not a trusted issuer (trusted: ${idp.issuer}, ${idp.issuer}/)`,
      });
    } finally {
      await stranger.stop();
    }
  });

  it('refuses keys from a discovery document that names another issuer', async () => {
    const token = await new SignJWT({ client_id: 'support-bot', scope: PURPOSE_SCOPE })
      .setProtectedHeader({ alg: 'ES256', kid: idp.signingKid('ES256') })
      .setIssuer(`${idp.issuer}/`)
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign((await generateKeyPair('ES256')).privateKey);
    expect(await refusal(token)).toMatchObject({
      status: 503,
      code: 'ISSUER_UNAVAILABLE',
      message: expect.stringContaining(`discovery names issuer "${idp.issuer}", not ${idp.issuer}/`),
    });
  });

  it('refuses a token issued for another resource', async () => {
    expect(await refusal(await ccToken('support-bot', { resource: 'https://elsewhere.example' }))).toMatchObject({
      status: 401,
      code: 'TOKEN_INVALID',
      message: expect.stringContaining(`the "aud" claim failed its check`),
    });
  });

  it('refuses algorithm confusion: HS256 keyed with the public key, and alg none', async () => {
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    const publicKey = jwks.keys.find((key) => key.kid === idp.signingKid('ES256'))!;
    const claims = { client_id: 'support-bot', scope: PURPOSE_SCOPE };
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid })
      .setIssuer(idp.issuer)
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
    const unsigned = new UnsecuredJWT(claims).setIssuer(idp.issuer).setAudience(resource).setIssuedAt().setExpirationTime('5m').encode();
    for (const token of [hmac, unsigned]) {
      expect(await refusal(token)).toMatchObject({
        status: 401,
        code: 'TOKEN_INVALID',
        message: expect.stringContaining('its algorithm is not one this issuer may use (ES256, EdDSA)'),
      });
    }
  });

  it('refuses an algorithm the provider holds but the issuer entry does not allow', async () => {
    idp.configureClient('fraud-bot', { alg: 'RS256' });
    const token = await ccToken('fraud-bot', { scope: 'purpose:fraud_detection' });
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    expect(await refusal(token)).toMatchObject({ code: 'TOKEN_INVALID', message: expect.stringContaining('its algorithm is not one this issuer may use') });
  });

  it("refuses a token living longer than the issuer's maximum", async () => {
    idp.configureClient('kyc-bot', { ttlSeconds: 2 * 3600 });
    expect(await refusal(await ccToken('kyc-bot', { scope: 'purpose:kyc_verification' }))).toMatchObject({
      status: 401,
      code: 'TOKEN_LIFETIME_EXCEEDED',
      message: `the token lives 2h, longer than the 1h allowed for tokens from ${idp.issuer} (maxLifetime in schema/issuers.yaml)`,
    });
  });

  it('refuses a token that names no purpose, or a purpose its agent is not registered for', async () => {
    expect(await refusal(await idp.clientCredentialsToken('support-bot'))).toMatchObject({
      code: 'PURPOSE_NOT_ALLOWED',
      message: expect.stringContaining('names no purpose'),
    });
    expect(await refusal(await ccToken('support-bot', { scope: 'purpose:fraud_detection' }))).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED' });
  });

  it('is found by a standard OAuth client from a 401: resource metadata, the issuer, a token, an answer', async () => {
    const graphql = new URL('/graphql', resource);
    const body = JSON.stringify({ query: QUERY });
    const headers = new Headers({ 'content-type': 'application/json' });
    const options = { [oauth.allowInsecureRequests]: true };
    const challenge = await oauth.protectedResourceRequest('not-a-token', 'POST', graphql, headers, body, options).then(
      () => expect.unreachable('a 401 with a challenge'),
      (error: unknown) => error as oauth.WWWAuthenticateChallengeError,
    );
    expect(challenge).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const metadataUrl = challenge.cause[0]!.parameters.resource_metadata!;
    expect(metadataUrl).toBe(`${resource}/.well-known/oauth-protected-resource`);

    const metadata = await oauth.processResourceDiscoveryResponse(new URL(resource), await oauth.resourceDiscoveryRequest(new URL(resource), options));
    expect(metadata).toMatchObject({
      authorization_servers: [idp.issuer, `${idp.issuer}/`],
      bearer_methods_supported: ['header'],
      dpop_bound_access_tokens_required: false,
      scopes_supported: expect.arrayContaining([PURPOSE_SCOPE]),
    });
    const issuer = new URL(metadata.authorization_servers![0]!);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const client = { client_id: 'support-bot' };
    const tokenResponse = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic('support-bot-secret'),
      { scope: PURPOSE_SCOPE, resource: metadata.resource },
      options,
    );
    const { access_token } = await oauth.processClientCredentialsResponse(as, client, tokenResponse);
    const answer = await oauth.protectedResourceRequest(access_token, 'POST', graphql, headers, body, options);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ data: { viewer: { agent: 'support-bot' } } });
  });

  it("takes a trusted issuer's token naming an officer as an agent's: it opens neither the officer API nor a view", async () => {
    const token = await idp.clientCredentialsToken('dpo', { scope: PURPOSE_SCOPE });
    expect(await refusal(token)).toMatchObject({ status: 401, code: 'UNKNOWN_AGENT' });
    const officer = await fetch(new URL('/officer/graphql', resource), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ agents { id } }' }),
    });
    expect(officer.status).toBe(401);
    expect(((await officer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNKNOWN_AGENT');
    // A token exchanged for a person named like the officer, claiming kh_kind officer, is an agent's acting for them.
    const claimed = await idp.exchangeToken('support-bot', { subjectToken: await idp.personToken('dpo'), scope: PURPOSE_SCOPE });
    const asOfficer = await fetch(new URL('/officer/graphql', resource), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${claimed}` },
      body: JSON.stringify({ query: '{ agents { id } }' }),
    });
    expect(asOfficer.status).toBe(403);
    expect(((await asOfficer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('NOT_AN_OFFICER');
  });

  it('names the resource metadata in every 401, the officer API included', async () => {
    for (const path of ['/graphql', '/officer/graphql']) {
      const response = await fetch(new URL(path, resource), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toContain(`resource_metadata="${resource}/.well-known/oauth-protected-resource"`);
    }
  });
});
