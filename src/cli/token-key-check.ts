import type { JWK } from 'jose';

/** The signer's key id and public key (the JWK `x` of an Ed25519 key), as a broker would compare them. */
export interface Signer {
  kid: string;
  x: string | undefined;
}

export function signerOf(signing: { kid: string; publicJwk: JWK }): Signer {
  return { kid: signing.kid, x: signing.publicJwk.x };
}

/**
 * Whether a broker verifying with `keys` accepts what `signer` signs: a JWKS picks its key by the token's `kid`,
 * so the kid must match where the broker names one, and the public key must be the same.
 */
export function verifiesWith(keys: readonly JWK[], signer: Signer): boolean {
  return keys.some((key) => (key.kid === undefined || key.kid === signer.kid) && key.x !== undefined && key.x === signer.x);
}

/** The broker's keys, for a message: their ids, or that it names none. */
export function describeKeys(keys: readonly JWK[]): string {
  const kids = keys.flatMap((key) => (typeof key.kid === 'string' ? [`"${key.kid}"`] : []));
  if (kids.length > 0) return kids.join(', ');
  return keys.length > 0 ? `${keys.length} public key(s) without a key id` : 'no key at all';
}
