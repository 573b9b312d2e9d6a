import { decodeJwt } from 'jose';
import type { Queryable } from '../sql/index.ts';
import { DPOP_ALGORITHMS, dpopTargetUri, type VerifiedDpopProof, verifyDpopProof } from './dpop.ts';
import { DpopReplayStore } from './dpop-replay.ts';
import { IdentityError } from './errors.ts';

/** The token of an Authorization header and the scheme it came under (RFC 6750 Bearer, RFC 9449 DPoP). */
export interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

export function presentedToken(header: string | null): PresentedToken | null {
  const match = /^(Bearer|DPoP)\s+(\S+)$/i.exec(header?.trim() ?? '');
  if (!match) return null;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/** The WWW-Authenticate challenge of a DPoP refusal (RFC 9449 §7.1), or undefined for any other code. */
export function dpopChallenge(code: string): string | undefined {
  const algs = `algs="${DPOP_ALGORITHMS.join(' ')}"`;
  if (code === 'DPOP_REQUIRED') return `DPoP error="invalid_token", ${algs}`;
  if (code === 'DPOP_INVALID' || code === 'DPOP_REPLAYED') return `DPoP error="invalid_dpop_proof", ${algs}`;
  return undefined;
}

/**
 * The key a verified token is bound to: its `cnf.jkt` (RFC 9449 §6.1), or undefined for a bearer token. Read from
 * the token's text after its signature verified, so the claim is the issuer's. A `cnf` naming another kind of
 * binding (a TLS client certificate, RFC 8705) is one this broker cannot check: refused rather than ignored.
 */
export function boundKeyOf(token: string): string | undefined {
  const { cnf } = decodeJwt(token);
  if (cnf === undefined) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  if (typeof jkt !== 'string' || jkt === '') {
    throw new IdentityError('TOKEN_INVALID', 'The token is bound ("cnf") by a method this broker cannot check; only DPoP ("cnf.jkt") is supported.');
  }
  return jkt;
}

export interface DpopGateOptions {
  /** Where spent proofs are kept: the database every broker shares. */
  db: Queryable;
  /** How far a proof's `iat` may be from now, either way (tokens.dpopProofWindow). */
  windowSeconds: number;
  /** The URL clients address the broker at, when a proxy stands in front (KEYHOLE_PUBLIC_URL). */
  publicUrl?: string | undefined;
}

/** Who presented a verified token, and whether a policy (agent, officer or zone) asks for DPoP whatever the token. */
export interface DpopPolicy {
  holderId: string;
  required: boolean;
}

/**
 * Sender-constrained tokens (RFC 9449) for every HTTP endpoint that takes a token: /graphql, /officer/graphql and
 * /mcp (whose tool calls' inner /graphql requests carry the /mcp request's result instead: see
 * RequestState.dpopPassedToken). Runs after the token's signature verified and before the caller counts as
 * identified. A token bound to a key always needs a proof from that key, whatever the policy; a policy that
 * requires DPoP refuses unbound tokens. Refusals are IdentityErrors naming the holder as claimed, not proven.
 */
export class DpopGate {
  private readonly options: DpopGateOptions;
  private readonly replay: DpopReplayStore;

  constructor(options: DpopGateOptions) {
    this.options = options;
    this.replay = new DpopReplayStore(options.db);
  }

  async check(request: Request, presented: PresentedToken, policy: DpopPolicy): Promise<void> {
    try {
      await this.checkProof(request, presented, policy.required);
    } catch (error) {
      if (error instanceof IdentityError) throw new IdentityError(error.code, error.message, policy.holderId);
      throw error;
    }
  }

  private async checkProof(request: Request, presented: PresentedToken, required: boolean): Promise<void> {
    const jkt = boundKeyOf(presented.token);
    if (jkt === undefined && !required && presented.scheme === 'Bearer') return;
    if (presented.scheme === 'Bearer') {
      throw new IdentityError(
        'DPOP_REQUIRED',
        jkt === undefined
          ? 'This holder needs DPoP: get a token bound to your key and send Authorization: DPoP <token> with a DPoP proof.'
          : 'This token is bound to a key: send it as Authorization: DPoP <token> with a DPoP proof signed by that key, never as Bearer.',
      );
    }
    if (jkt === undefined) {
      throw new IdentityError('DPOP_REQUIRED', 'The token is not bound to a key (no "cnf.jkt"): ask its issuer for a DPoP-bound token.');
    }
    const proof = request.headers.get('dpop');
    if (!proof) throw new IdentityError('DPOP_REQUIRED', 'Send a DPoP proof, signed by the key this token is bound to, in the DPoP header.');
    // Headers joins repeated fields with a comma, which no JWT contains: RFC 9449 §4.3 allows exactly one.
    if (proof.includes(',')) throw new IdentityError('DPOP_INVALID', 'The DPoP proof is not valid: send exactly one DPoP header.');
    const verified = await this.verify(proof, request, presented.token);
    if (verified.jkt !== jkt)
      throw new IdentityError('DPOP_INVALID', 'The DPoP proof is not valid: it is signed by another key than the one this token is bound to.');
    if (!(await this.spend(verified))) {
      throw new IdentityError('DPOP_REPLAYED', 'This DPoP proof has been used before; sign a new one (a new "jti") for each request.');
    }
  }

  /** Fails closed: a proof whose use cannot be recorded for every broker to see is not accepted. */
  private async spend(proof: VerifiedDpopProof): Promise<boolean> {
    try {
      return await this.replay.spend(proof);
    } catch {
      throw new IdentityError('DATABASE_UNAVAILABLE', 'The broker cannot record this DPoP proof as used right now, so it does not accept it.');
    }
  }

  private verify(proof: string, request: Request, accessToken: string): Promise<VerifiedDpopProof> {
    const uri = dpopTargetUri(request.url, this.options.publicUrl);
    return verifyDpopProof(proof, { method: request.method, uri, accessToken }, { windowSeconds: this.options.windowSeconds, now: Date.now() });
  }
}
