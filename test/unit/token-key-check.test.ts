import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { describeKeys, signerOf, verifiesWith } from '../../src/cli/token-key-check.ts';
import { loadTokenKeys } from '../../src/identity/signing-keys.ts';

function pemPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    KEYHOLE_TOKEN_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    KEYHOLE_TOKEN_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** `keyhole token` mints only with a key the running broker verifies with, whichever way the broker holds its keys. */
describe('whether a broker verifies with the key a token would be signed with', () => {
  it('matches the public keys a broker on a bare public key publishes (no key id) with its signer', async () => {
    const pair = pemPair();
    const broker = await loadTokenKeys('/nonexistent', { KEYHOLE_TOKEN_PUBLIC_KEY: pair.KEYHOLE_TOKEN_PUBLIC_KEY });
    const issuer = await loadTokenKeys('/nonexistent', { ...pair, KEYHOLE_TOKEN_KID: 'issuer-1' });
    expect(broker.publicJwks).toEqual([expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' })]);
    expect(verifiesWith(broker.publicJwks, signerOf(issuer.signing!))).toBe(true);
    const stranger = await loadTokenKeys('/nonexistent', { ...pemPair(), KEYHOLE_TOKEN_KID: 'issuer-1' });
    expect(verifiesWith(broker.publicJwks, signerOf(stranger.signing!))).toBe(false);
    expect(describeKeys(broker.publicJwks)).toBe('1 public key(s) without a key id');
  });

  it('needs the key id too where a JWKS names it, and never publishes a private member of that JWKS', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const broker = await loadTokenKeys('/nonexistent', { KEYHOLE_JWKS: JSON.stringify({ keys: [{ ...privateJwk, kid: 'idp-7' }] }) });
    expect(broker.publicJwks).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, kid: 'idp-7' }]);
    expect(verifiesWith(broker.publicJwks, { kid: 'idp-7', x: privateJwk.x })).toBe(true);
    expect(verifiesWith(broker.publicJwks, { kid: 'idp-8', x: privateJwk.x })).toBe(false);
    expect(describeKeys(broker.publicJwks)).toBe('"idp-7"');
  });
});
