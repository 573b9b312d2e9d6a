/**
 * Key material for the keyed masking functions (pseudonymize, tokenize_preserving_format,
 * substitute, noise_number).
 *
 * ## How masking keys work (quotable in the README)
 *
 * - The broker holds one **masking secret** (at least 32 random bytes) and a **key id** that names it
 *   (e.g. `mk-2026-01`). The secret never leaves the broker: it is not sent to agents, not written
 *   to the audit log (only the key id is), and not printable from a `MaskingKeys` object.
 * - Every keyed function gets its **own subkey per scope**, derived with HKDF-SHA-256 from the
 *   secret, with the function name and the scope as HKDF `info`. The scope is the rule's `scope`
 *   parameter, or `table.column` when the rule gives none. So the same customer id pseudonymised in
 *   two scopes gives two unrelated tokens (no linking across scopes), and two rules that name the
 *   same scope (e.g. `scope: customer` on `customers.id` and `transactions.customer_id`) give
 *   tokens an agent can join on. Knowing one subkey tells nothing about another or about the secret.
 * - Subkeys are derived once and cached for the life of the `MaskingKeys` object, as `KeyObject`s
 *   ready for `crypto.createHmac`.
 * - **Rotation** is a new secret with a new key id. All tokens, substitutes and noisy values change:
 *   tokens issued under the old key no longer match anything, which is the point (an agent that kept
 *   old tokens can no longer link them to new answers). There is no re-keying of old tokens; an
 *   agent that must keep joining across a rotation needs fresh results. Keep the old secret only as
 *   long as audit reviews need to reproduce tokens of that period.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

const MIN_SECRET_BYTES = 32;
const SUBKEY_BYTES = 32;
/** Fixed HKDF salt: domain separation from any other use of the same secret. */
const HKDF_SALT = 'keyhole/masking/v1';

export class MaskingKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaskingKeyError';
  }
}

export interface MaskingKeys {
  /** Names the secret (recorded in the audit log); changes on rotation. */
  readonly keyId: string;
  /** The HMAC-SHA-256 key of one keyed function in one scope (derived once, then cached). */
  subkey(functionName: string, scope: string): KeyObject;
}

class HkdfMaskingKeys implements MaskingKeys {
  readonly keyId: string;
  readonly #secret: Uint8Array;
  readonly #subkeys = new Map<string, KeyObject>();

  constructor(secret: Uint8Array, keyId: string) {
    this.#secret = Uint8Array.from(secret);
    this.keyId = keyId;
  }

  subkey(functionName: string, scope: string): KeyObject {
    // JSON keeps the two parts unambiguous ('a.b' + 'c' vs 'a' + 'b.c').
    const info = JSON.stringify([functionName, scope]);
    let key = this.#subkeys.get(info);
    if (key === undefined) {
      key = createSecretKey(new Uint8Array(hkdfSync('sha256', this.#secret, HKDF_SALT, info, SUBKEY_BYTES)));
      this.#subkeys.set(info, key);
    }
    return key;
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `MaskingKeys { keyId: ${JSON.stringify(this.keyId)} }`;
  }
}

/** The secret is copied, so the caller may zero its buffer afterwards. */
export function createMaskingKeys(secret: Uint8Array, keyId: string): MaskingKeys {
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new MaskingKeyError(`masking secret '${keyId}' is ${secret.byteLength} bytes; at least ${MIN_SECRET_BYTES} are required`);
  }
  if (keyId.trim() === '') throw new MaskingKeyError('masking key id must not be empty');
  return new HkdfMaskingKeys(secret, keyId);
}
