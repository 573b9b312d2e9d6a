import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTokenKeys, TOKEN_ALG } from '../../src/identity/signing-keys.ts';

/** Signs a token with `key` and checks it with the loaded keys: the only thing a verify key is for. */
async function verifies(keys: Awaited<ReturnType<typeof loadTokenKeys>>, key: CryptoKey, kid = 'keyhole'): Promise<boolean> {
  const token = await new SignJWT({}).setProtectedHeader({ alg: TOKEN_ALG, kid }).setSubject('support-bot').sign(key);
  try {
    await jwtVerify(token, keys.verifyKey as CryptoKey);
    return true;
  } catch {
    return false;
  }
}

describe('the keys tokens are checked and signed with', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-keys-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('makes an Ed25519 development pair once, readable by its owner only, and signs and checks with it', async () => {
    const keys = await loadTokenKeys(join(dataDir, 'nested'), {});
    const file = join(dataDir, 'nested', 'token-keys.json');
    expect(keys.source).toBe(`new development key pair, made just now in ${file}`);
    expect((await loadTokenKeys(join(dataDir, 'nested'), {})).source).toBe(`development key pair in ${file}`);
    expect(keys.signing?.kid).toMatch(/^dev-[0-9a-z]+$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { kid: string; publicJwk: { crv: string; kty: string } };
    expect(stored.kid).toBe(keys.signing?.kid);
    expect(stored.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(await verifies(keys, keys.signing!.key)).toBe(true);

    const again = await loadTokenKeys(join(dataDir, 'nested'), {});
    expect(again.signing?.kid).toBe(keys.signing?.kid);
    expect(await verifies(again, keys.signing!.key)).toBe(true);
    const stranger = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519' });
    expect(await verifies(again, stranger.privateKey)).toBe(false);
  });

  it('refuses a development key file it cannot read, rather than replacing it', async () => {
    await writeFile(join(dataDir, 'token-keys.json'), '{ not json');
    await expect(loadTokenKeys(dataDir, {})).rejects.toThrow(SyntaxError);
    expect(await readFile(join(dataDir, 'token-keys.json'), 'utf8')).toBe('{ not json');
  });

  it('never trusts a development pair under NODE_ENV=production, and says what to set', async () => {
    const file = join(dataDir, 'token-keys.json');
    await expect(loadTokenKeys(dataDir, { NODE_ENV: 'production' })).rejects.toThrow(
      `NODE_ENV=production but no token verification key is configured, so Keyhole would trust the development key pair in ${file}. ` +
        "Set KEYHOLE_TOKEN_PUBLIC_KEY to your token issuer's Ed25519 public key (SPKI PEM), or KEYHOLE_JWKS to your identity provider's JWKS document (JSON).",
    );
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  const issuer = generateKeyPairSync('ed25519');
  const publicPem = issuer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privatePem = issuer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('checks with the issuer’s public key from the environment, and signs only where the private key is given', async () => {
    const keys = await loadTokenKeys(dataDir, { KEYHOLE_TOKEN_PUBLIC_KEY: publicPem, NODE_ENV: 'production' });
    expect(keys.source).toBe('KEYHOLE_TOKEN_PUBLIC_KEY');
    expect(keys.signing).toBeUndefined();
    expect('signing' in keys).toBe(false);
    const issuerKey = (await loadTokenKeys(dataDir, { KEYHOLE_TOKEN_PUBLIC_KEY: publicPem, KEYHOLE_TOKEN_PRIVATE_KEY: privatePem })).signing!;
    expect(issuerKey.kid).toBe('keyhole');
    expect(await verifies(keys, issuerKey.key)).toBe(true);
    const stranger = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519' });
    expect(await verifies(keys, stranger.privateKey)).toBe(false);
    const named = await loadTokenKeys(dataDir, { KEYHOLE_TOKEN_PUBLIC_KEY: publicPem, KEYHOLE_TOKEN_PRIVATE_KEY: privatePem, KEYHOLE_TOKEN_KID: 'k-2027' });
    expect(named.signing?.kid).toBe('k-2027');
    await expect(stat(join(dataDir, 'token-keys.json'))).rejects.toThrow(/ENOENT/);
  });

  it('checks with a JWKS document from the environment, picking the key by its id, before any public key', async () => {
    const jwk = { ...(await exportJWK(issuer.publicKey)), kid: 'idp-1', alg: TOKEN_ALG };
    const env = { KEYHOLE_JWKS: JSON.stringify({ keys: [jwk] }), KEYHOLE_TOKEN_PUBLIC_KEY: 'not read', KEYHOLE_TOKEN_PRIVATE_KEY: privatePem };
    const keys = await loadTokenKeys(dataDir, env);
    expect(keys.source).toBe('KEYHOLE_JWKS');
    expect(keys.signing?.kid).toBe('keyhole');
    const token = await new SignJWT({}).setProtectedHeader({ alg: TOKEN_ALG, kid: 'idp-1' }).setSubject('a').sign(keys.signing!.key);
    await expect(jwtVerify(token, keys.verifyKey as never)).resolves.toBeTruthy();
    const otherKid = await new SignJWT({}).setProtectedHeader({ alg: TOKEN_ALG, kid: 'idp-2' }).setSubject('a').sign(keys.signing!.key);
    await expect(jwtVerify(otherKid, keys.verifyKey as never)).rejects.toThrow();
    expect('signing' in (await loadTokenKeys(dataDir, { KEYHOLE_JWKS: env.KEYHOLE_JWKS }))).toBe(false);
  });
});
