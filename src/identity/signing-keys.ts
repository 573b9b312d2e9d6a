import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';

export const TOKEN_ALG = 'EdDSA';

/** What the broker needs to check tokens, and (in embedded/dev mode or for the CLI) to sign them. */
export interface TokenKeys {
  verifyKey: CryptoKey | JWTVerifyGetKey;
  /** The signing key, its id, and its public half (so a signer can check a broker verifies with it). */
  signing?: { key: CryptoKey; kid: string; publicJwk: JWK };
  /** The key ids the broker verifies with, where it knows them (a bare public key names none). */
  kids?: readonly string[];
  /** The public keys it verifies with, as JWKs (published so a token issuer can check it signs with one of them). */
  publicJwks: readonly JWK[];
  source: string;
}

interface DevKeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function devKeys(dataDir: string): Promise<TokenKeys> {
  const file = join(dataDir, 'token-keys.json');
  let stored: DevKeyFile;
  let made = false;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as DevKeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
    const kid = `dev-${Date.now().toString(36)}`;
    stored = { kid, privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600, flag: 'wx' });
    made = true;
  }
  return {
    verifyKey: (await importJWK(stored.publicJwk, TOKEN_ALG)) as CryptoKey,
    signing: { key: (await importJWK(stored.privateJwk, TOKEN_ALG)) as CryptoKey, kid: stored.kid, publicJwk: stored.publicJwk },
    kids: [stored.kid],
    publicJwks: [{ ...stored.publicJwk, kid: stored.kid, alg: TOKEN_ALG }],
    // Said when new: a token signed with a key pair made just now is refused by a broker on another data dir.
    source: `${made ? 'new development key pair, made just now in' : 'development key pair in'} ${file}`,
  };
}

/** A JWK without any private member a JWKS document might carry by mistake (RFC 7517 §9.3: never publish them). */
function publicPart(jwk: JWK): JWK {
  const { d, p, q, dp, dq, qi, oth, k, ...rest } = jwk;
  return rest;
}

/**
 * Production reads the verification key from the environment — `KEYHOLE_TOKEN_PUBLIC_KEY` (SPKI PEM) or
 * `KEYHOLE_JWKS` (a JWKS document) — and signs only where `KEYHOLE_TOKEN_PRIVATE_KEY` (PKCS#8 PEM) is set
 * (the token issuer, not the broker). Without them, a development key pair is made once in the data dir —
 * except under `NODE_ENV=production`, where whoever can read the data dir could then mint any identity.
 */
export async function loadTokenKeys(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<TokenKeys> {
  const kid = env.KEYHOLE_TOKEN_KID ?? 'keyhole';
  const pem = env.KEYHOLE_TOKEN_PRIVATE_KEY;
  const signing = pem ? { key: await importPKCS8(pem, TOKEN_ALG), kid, publicJwk: createPublicKey(pem).export({ format: 'jwk' }) as JWK } : undefined;
  if (env.KEYHOLE_JWKS) {
    const jwks = JSON.parse(env.KEYHOLE_JWKS) as JSONWebKeySet;
    const kids = jwks.keys.flatMap((key) => (typeof key.kid === 'string' ? [key.kid] : []));
    return { verifyKey: createLocalJWKSet(jwks), ...(signing ? { signing } : {}), kids, publicJwks: jwks.keys.map(publicPart), source: 'KEYHOLE_JWKS' };
  }
  if (env.KEYHOLE_TOKEN_PUBLIC_KEY) {
    const verifyKey = await importSPKI(env.KEYHOLE_TOKEN_PUBLIC_KEY, TOKEN_ALG, { extractable: true });
    return {
      verifyKey,
      ...(signing ? { signing } : {}),
      publicJwks: [{ ...(await exportJWK(verifyKey)), alg: TOKEN_ALG }],
      source: 'KEYHOLE_TOKEN_PUBLIC_KEY',
    };
  }
  if (env.NODE_ENV === 'production') {
    throw new Error(
      `NODE_ENV=production but no token verification key is configured, so Keyhole would trust the development key pair in ${join(dataDir, 'token-keys.json')}. ` +
        "Set KEYHOLE_TOKEN_PUBLIC_KEY to your token issuer's Ed25519 public key (SPKI PEM), or KEYHOLE_JWKS to your identity provider's JWKS document (JSON).",
    );
  }
  return devKeys(dataDir);
}
