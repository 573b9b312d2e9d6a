import { randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { accessTokenHash, dpopKeyThumbprint } from '../../src/identity/index.ts';

export interface ProofRequest {
  method?: string;
  url: string;
  /** The access token the proof goes with (its `ath`); leave out for a proof without `ath`. */
  token?: string;
  /** Claims changed or, with `undefined`, left out. */
  claims?: Record<string, unknown>;
  /** Header parameters changed (e.g. `typ`, `jwk`). */
  header?: Record<string, unknown>;
}

/** An agent's DPoP key pair that signs proofs as RFC 9449 §4 says, each with a fresh `jti` and `iat` now. */
export interface DpopClient {
  publicJwk: JWK;
  privateJwk: JWK;
  /** The thumbprint a token bound to this key carries in `cnf.jkt`. */
  jkt: string;
  proof(request: ProofRequest): Promise<string>;
}

export async function dpopClient(alg: 'EdDSA' | 'ES256' | 'RS256' | 'PS256' = 'ES256'): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    publicJwk,
    privateJwk: await exportJWK(privateKey),
    jkt: await dpopKeyThumbprint(publicJwk),
    proof: (request) => signProof(privateKey, alg, publicJwk, request),
  };
}

function signProof(key: CryptoKey, alg: string, jwk: JWK, request: ProofRequest): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: request.method ?? 'POST',
    htu: request.url,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ...(request.token === undefined ? {} : { ath: accessTokenHash(request.token) }),
    ...request.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk, ...request.header }).sign(key);
}
