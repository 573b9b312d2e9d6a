/**
 * Who decides from the command line: the privacy officer an officer token names, verified with the broker's token
 * keys and agent registry, never a name typed on the command line.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { compactVerify, decodeJwt, importJWK, type JWK, CompactSign } from 'jose';
import type { AgentRegistry } from '../config/index.ts';
import { dpopKeyThumbprint, IdentityError, loadTokenKeys, type OfficerPrincipal, verifyToken } from '../identity/index.ts';
import { CliError } from './context.ts';

/** Where an officer's token may come from besides --token: kept out of shell history and process lists. */
export const OFFICER_TOKEN_ENV = 'KEYHOLE_OFFICER_TOKEN';

const MINT_HINT = 'mint one with: npx keyhole token --agent <officer-id>';

/** The token to decide with: --token, else $KEYHOLE_OFFICER_TOKEN; refused when neither holds one. */
export function presentedOfficerToken(command: string, option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const token = (option ?? env[OFFICER_TOKEN_ENV] ?? '').trim();
  if (!token) throw new CliError(`${command} is decided by a privacy officer: pass --token <officer token> or set ${OFFICER_TOKEN_ENV} (${MINT_HINT})`);
  return token;
}

/** The refusal for `--by`: the decision is recorded under the officer the token names, not under free text. */
export function byIsGone(command: string): CliError {
  return new CliError(`${command} no longer takes --by: the decision is recorded under the officer your token names; pass --token or set ${OFFICER_TOKEN_ENV}`);
}

/** The signing algorithm of a DPoP key, as the proofs Keyhole accepts use them (src/identity/dpop.ts). */
function dpopAlgorithmOf(jwk: JWK): string {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'OKP') return 'EdDSA';
  if (jwk.kty === 'EC') return 'ES256';
  return 'RS256';
}

/**
 * Shows that whoever runs the CLI holds the DPoP key a bound officer token names, as a proof would over HTTP: the
 * private JWK in `file` has the token's thumbprint, and what it signs verifies under that thumbprint's public key.
 */
async function holdsDpopKey(file: string, jkt: string): Promise<void> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (error) {
    throw new CliError(`--dpop-key ${file} is not a readable JWK file: ${(error as Error).message}`);
  }
  if (typeof jwk.d !== 'string') throw new CliError(`--dpop-key ${file} holds a public key; the private JWK (with "d") shows you hold the key`);
  const thumbprint = await dpopKeyThumbprint(jwk).catch((error: Error) => {
    throw new CliError(`--dpop-key ${file}: ${error.message}`);
  });
  if (thumbprint !== jkt) throw new CliError(`--dpop-key ${file} is not the key the officer token is bound to (its cnf.jkt)`);
  const { d: _private, ...publicJwk } = jwk;
  const alg = dpopAlgorithmOf(jwk);
  try {
    const signed = await new CompactSign(randomBytes(32)).setProtectedHeader({ alg }).sign(await importJWK(jwk, alg));
    await compactVerify(signed, await importJWK(publicJwk, alg));
  } catch {
    throw new CliError(`--dpop-key ${file}: its private part does not match its public part`);
  }
}

/**
 * The officer `token` names, verified as the broker verifies it (signature with the broker's keys, issuer, audience,
 * lifetime, registry). An agent's token and an expired or forged one are refused. A DPoP-bound token, and any token
 * of an officer who must use them, is taken only with `dpopKeyFile`, the private key it is bound to.
 */
export async function verifiedOfficer(
  token: string,
  options: { dataDir: string; registry: AgentRegistry; dpopKeyFile?: string | undefined },
): Promise<OfficerPrincipal> {
  let principal: Awaited<ReturnType<typeof verifyToken>>;
  try {
    principal = await verifyToken(token, await loadTokenKeys(options.dataDir), options.registry);
  } catch (error) {
    if (error instanceof IdentityError) throw new CliError(`the officer token is refused: ${error.message} (${error.code}); ${MINT_HINT}`);
    throw error;
  }
  if (principal.kind !== 'officer') {
    throw new CliError(
      `the token names agent "${principal.id}", not a privacy officer: approvals are decided by an officer of schema/agents.yaml (${MINT_HINT})`,
    );
  }
  const jkt = (decodeJwt(token).cnf as { jkt?: unknown } | undefined)?.jkt;
  if (jkt === undefined && principal.officer.requireDpop) {
    throw new CliError(
      `officer "${principal.id}" decides with DPoP-bound tokens only: mint one with npx keyhole token --agent ${principal.id} --dpop-jwk <key file>, and pass the key with --dpop-key`,
    );
  }
  if (jkt !== undefined) {
    if (typeof jkt !== 'string') throw new CliError("the officer token's cnf.jkt is not a key thumbprint");
    if (!options.dpopKeyFile) throw new CliError('the officer token is DPoP-bound: pass --dpop-key <private JWK file> to show you hold its key');
    await holdsDpopKey(options.dpopKeyFile, jkt);
  }
  return principal;
}

/**
 * The command line a running broker is handed: an officer token taken from the environment travels as --token, as
 * the broker's own environment does not hold it, and a --dpop-key file by its absolute path.
 */
export function withOfficerTokenArgument(args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const takesToken = args[0] === 'approvals' && (args[1] === 'approve' || args[1] === 'deny');
  const token = env[OFFICER_TOKEN_ENV]?.trim();
  // The broker reads the key file from its own working directory: a relative path travels as the one meant here.
  const handed = args.map((arg, i) => (args[i - 1] === '--dpop-key' && !isAbsolute(arg) ? resolve(cwd, arg) : arg));
  return takesToken && token && !args.includes('--token') ? [...handed, '--token', token] : handed;
}
