/**
 * A real OpenID provider (panva's `oidc-provider`, the certified one) that a test starts on 127.0.0.1, for the
 * trusted-issuer, DPoP and delegation tests. Tokens come from its real token endpoint through a standard OAuth
 * client (`oauth4webapi`), so what the broker sees is what a company's identity provider would send.
 *
 *   const idp = await startTestIssuer({ resource: 'http://127.0.0.1:4000' });
 *   idp.issuer                                   // 'http://127.0.0.1:PORT' (discovery at /.well-known/openid-configuration)
 *   await idp.clientCredentialsToken('support-bot', { scope: 'purpose:customer_service', dpopKey? })
 *       // an at+jwt access token: iss, sub = client_id = 'support-bot', aud = resource, scope, cnf.jkt with dpopKey
 *   idp.personToken('alice')                     // the person's id token (JWT signed by the provider's keys)
 *   await idp.exchangeToken('support-bot', { subjectToken, scope?, resource? })
 *       // RFC 8693 token exchange: sub = 'alice', act = { sub: 'support-bot' }, client_id, and alice's claims
 *   idp.configureClient('support-bot', { alg: 'RS256', ttlSeconds: 7 * 86400 })   // takes effect on the next token
 *   await idp.rotateKeys({ keepOld: true })      // new signing keys (same port); old ones stay published unless keepOld: false
 *   await idp.stop(); await idp.start()          // unreachable, then back on the same port with the same keys
 *   idp.signingKid('ES256')                      // the kid the provider signs with now
 *
 * Clients: every id in `clients` (default: the demo agents) is a confidential client with the secret
 * `<id>-secret`, allowed client_credentials and token exchange. Access tokens are signed with the client's alg
 * (default ES256; EdDSA, RS256, PS256 also held). Persons: `persons` maps an id to the claims its exchanged
 * tokens carry (default: alice in EU-DE, bob in SG). The provider is a separate HTTP server; nothing is mocked.
 */
import { createServer, type Server } from 'node:http';
import * as oauth from 'oauth4webapi';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { applyDpopBinding } from 'oidc-provider/lib/helpers/grant_common.js';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';
import { freePort } from './ports.ts';

export type SigningAlg = 'EdDSA' | 'ES256' | 'RS256' | 'PS256';
const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256', 'RS256', 'PS256'];

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface ClientSettings {
  alg: SigningAlg;
  ttlSeconds: number;
}

export interface TestIssuerOptions {
  port?: number;
  /** The audience of every access token unless a request names another resource (RFC 8707). */
  resource: string;
  clients?: readonly string[];
  persons?: Record<string, Record<string, unknown>>;
}

export interface TokenRequest {
  scope?: string;
  resource?: string;
  /** Binds the token to this key (DPoP, RFC 9449): the token carries cnf.jkt of its public key. */
  dpopKey?: CryptoKeyPair;
}

export interface ExchangeRequest extends TokenRequest {
  subjectToken: string;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly port: number;
  clientCredentialsToken(clientId: string, request?: TokenRequest): Promise<string>;
  personToken(personId: string): Promise<string>;
  exchangeToken(clientId: string, request: ExchangeRequest): Promise<string>;
  configureClient(clientId: string, settings: Partial<ClientSettings>): void;
  rotateKeys(options?: { keepOld?: boolean }): Promise<void>;
  signingKid(alg: SigningAlg): string;
  /** How many requests the provider has answered on `pathname` (e.g. '/jwks'), since it was first started. */
  requestsTo(pathname: string): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const DEMO_AGENTS = ['support-bot', 'analytics-bot', 'fraud-bot', 'kyc-bot'];
const DEMO_PERSONS = {
  alice: { region: 'EU-DE', customer_ids: [1, 2, 3] },
  bob: { region: 'SG', customer_ids: [4, 5] },
};

interface SigningKey {
  alg: SigningAlg;
  privateJwk: JWK;
  publicJwk: JWK;
}

let generation = 0;

async function makeKey(alg: SigningAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const kid = `${alg.toLowerCase()}-${++generation}-${Date.now().toString(36)}`;
  const common = { kid, alg, use: 'sig' };
  return { alg, privateJwk: { ...(await exportJWK(privateKey)), ...common }, publicJwk: { ...(await exportJWK(publicKey)), ...common } };
}

const makeKeySet = (): Promise<SigningKey[]> => Promise.all(SIGNING_ALGS.map(makeKey));

/** Starts the provider on `port` (or a free one) and returns once it answers. */
export async function startTestIssuer(options: TestIssuerOptions): Promise<TestIssuer> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const persons: Record<string, Record<string, unknown>> = options.persons ?? DEMO_PERSONS;
  const clientIds = options.clients ?? DEMO_AGENTS;
  const settings = new Map<string, ClientSettings>(clientIds.map((id) => [id, { alg: 'ES256', ttlSeconds: 600 }]));
  // Newest first: the provider signs with the first key of an alg and publishes them all.
  let keys = await makeKeySet();
  let server: Server | undefined;
  const answered = new Map<string, number>();
  // What an exchanged token says beyond a client-credentials one, found by the customizer that writes the JWT.
  const delegations = new WeakMap<object, { person: string; claims: Record<string, unknown> }>();

  const currentKey = (alg: SigningAlg): SigningKey => keys.find((key) => key.alg === alg)!;
  const clientSettings = (clientId: string): ClientSettings => {
    const found = settings.get(clientId);
    if (!found) throw new Error(`the test issuer has no client "${clientId}" (clients: ${[...settings.keys()].join(', ')})`);
    return found;
  };

  function resourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: { clientId: string }) {
    const { alg, ttlSeconds } = clientSettings(client.clientId);
    const requested = ctx.oidc.params?.scope;
    return {
      scope: typeof requested === 'string' ? requested : '',
      audience: indicator,
      accessTokenTTL: ttlSeconds,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg, kid: currentKey(alg).privateJwk.kid! } },
    };
  }

  async function exchange(ctx: KoaContextWithOIDC): Promise<void> {
    const { params, client, provider } = ctx.oidc;
    if (params?.subject_token_type !== ID_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${ID_TOKEN_TYPE}`);
    let person: string;
    try {
      const { payload } = await jwtVerify(String(params.subject_token), createLocalJWKSet({ keys: keys.map((key) => key.publicJwk) }), { issuer });
      person = String(payload.sub);
    } catch (error) {
      throw new errors.InvalidGrant(`subject_token is not this issuer's: ${(error as Error).message}`);
    }
    const claims = persons[person];
    if (!claims) throw new errors.InvalidGrant(`no person "${person}"`);
    const indicator = typeof params.resource === 'string' ? params.resource : options.resource;
    const token = new provider.ClientCredentials({ client: client!, scope: typeof params.scope === 'string' ? params.scope : undefined });
    token.resourceServer = new provider.ResourceServer(indicator, resourceServerInfo(ctx, indicator, client!));
    // The provider's own DPoP checks, as its built-in grants run them: an exchanged token can be sender-constrained too.
    await applyDpopBinding(provider, ctx, await validateDpop(provider, ctx), token);
    delegations.set(token, { person, claims });
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(token.scope ? { scope: token.scope } : {}),
    };
  }

  function makeProvider(): Provider {
    const provider = new Provider(issuer, {
      clients: clientIds.map((id) => ({
        client_id: id,
        client_secret: `${id}-secret`,
        grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
        redirect_uris: [],
        response_types: [],
      })),
      jwks: { keys: keys.map((key) => key.privateJwk) },
      cookies: { keys: ['test-issuer-cookie-key'] },
      ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        dPoP: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => options.resource,
          useGrantedResource: () => true,
          getResourceServerInfo: resourceServerInfo,
        },
      },
      formats: {
        customizers: {
          jwt: (_ctx, token, jwt) => {
            const delegation = delegations.get(token);
            if (!delegation) return;
            Object.assign(jwt.payload, delegation.claims, { sub: delegation.person, act: { sub: jwt.payload.client_id } });
          },
        },
      },
    });
    provider.registerGrantType(TOKEN_EXCHANGE_GRANT, exchange, ['subject_token', 'subject_token_type', 'resource', 'scope', 'audience']);
    return provider;
  }

  async function start(): Promise<void> {
    if (server) return;
    const serve = makeProvider().callback();
    // No keep-alive: a client must not reuse a socket across stop()/start(), or its next request fails on a closed one.
    const listening = createServer((request, response) => {
      const pathname = new URL(request.url ?? '/', issuer).pathname;
      answered.set(pathname, (answered.get(pathname) ?? 0) + 1);
      response.setHeader('connection', 'close');
      return serve(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', resolve);
    });
    server = listening;
  }

  async function stop(): Promise<void> {
    const closing = server;
    server = undefined;
    if (!closing) return;
    closing.closeAllConnections();
    await new Promise((resolve) => closing.close(resolve));
  }

  async function tokenRequest(clientId: string, request: TokenRequest, grant: string, parameters: Record<string, string>): Promise<string> {
    clientSettings(clientId);
    const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }));
    const client: oauth.Client = { client_id: clientId };
    const auth = oauth.ClientSecretBasic(`${clientId}-secret`);
    const body = new URLSearchParams(parameters);
    if (request.scope) body.set('scope', request.scope);
    body.set('resource', request.resource ?? options.resource);
    const requestOptions = { [oauth.allowInsecureRequests]: true, ...(request.dpopKey ? { DPoP: oauth.DPoP(client, request.dpopKey) } : {}) };
    const response =
      grant === 'client_credentials'
        ? await oauth.clientCredentialsGrantRequest(as, client, auth, body, requestOptions)
        : await oauth.genericTokenEndpointRequest(as, client, auth, grant, body, requestOptions);
    const result =
      grant === 'client_credentials'
        ? await oauth.processClientCredentialsResponse(as, client, response)
        : await oauth.processGenericTokenEndpointResponse(as, client, response);
    return result.access_token;
  }

  await start();
  return {
    issuer,
    port,
    clientCredentialsToken: (clientId, request = {}) => tokenRequest(clientId, request, 'client_credentials', {}),
    exchangeToken: (clientId, request) =>
      tokenRequest(clientId, request, TOKEN_EXCHANGE_GRANT, { subject_token: request.subjectToken, subject_token_type: ID_TOKEN_TYPE }),
    async personToken(personId) {
      if (!persons[personId]) throw new Error(`the test issuer has no person "${personId}"`);
      const key = currentKey('ES256').privateJwk;
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: key.kid!, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(personId)
        .setAudience(issuer)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    },
    configureClient(clientId, changes) {
      settings.set(clientId, { ...clientSettings(clientId), ...changes });
    },
    async rotateKeys({ keepOld = true } = {}) {
      const fresh = await makeKeySet();
      keys = keepOld ? [...fresh, ...keys] : fresh;
      if (server) {
        await stop();
        await start();
      }
    },
    signingKid: (alg) => currentKey(alg).publicJwk.kid!,
    requestsTo: (pathname) => answered.get(pathname) ?? 0,
    stop,
    start,
  };
}
