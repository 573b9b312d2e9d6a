import type { JWTPayload } from 'jose';

/**
 * Claims of tokens whose signature already verified, until each token expires. An agent sends the same token
 * on every request of its session, and an Ed25519 check costs more CPU than the rest of identity together.
 * Entries are keyed by the token's exact text, so a token differing by one byte is verified afresh; the
 * least recently used entry goes first once `capacity` tokens are held.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, JWTPayload>();
  private readonly capacity: number;

  constructor(capacity = 10_000) {
    this.capacity = capacity;
  }

  /** The claims of a verified token that has not expired at `now` (ms), or undefined. */
  get(token: string, now = Date.now()): JWTPayload | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    this.entries.delete(token);
    if (Number(claims.exp) * 1000 <= now) return undefined;
    this.entries.set(token, claims);
    return claims;
  }

  /** Remembers the claims of a token whose signature and claims were just verified. */
  remember(token: string, claims: JWTPayload): void {
    this.entries.delete(token);
    this.entries.set(token, claims);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
