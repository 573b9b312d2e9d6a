/**
 * Who decides from the command line: the privacy officer an officer token names, verified with the broker's token
 * keys and agent registry, never a name typed on the command line.
 */
import { decodeJwt } from 'jose';
import type { AgentRegistry } from '../config/index.ts';
import { IdentityError, loadTokenKeys, type OfficerPrincipal, verifyToken } from '../identity/index.ts';
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

/**
 * The officer `token` names, verified as the broker verifies it (signature with the broker's keys, issuer, audience,
 * lifetime, registry). An agent's token, an expired or forged one, and a DPoP-bound one (the CLI sends no proof, so
 * the key holder cannot be shown to be here) are refused.
 */
export async function verifiedOfficer(token: string, options: { dataDir: string; registry: AgentRegistry }): Promise<OfficerPrincipal> {
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
  if (principal.officer.requireDpop || decodeJwt(token).cnf !== undefined) {
    throw new CliError(`officer "${principal.id}" decides with DPoP-bound tokens, which the CLI cannot prove; decide on the officer page or the officer API`);
  }
  return principal;
}

/**
 * The command line a running broker is handed: an officer token taken from the environment travels as --token, as
 * the broker's own environment does not hold it.
 */
export function withOfficerTokenArgument(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const takesToken = args[0] === 'approvals' && (args[1] === 'approve' || args[1] === 'deny');
  const token = env[OFFICER_TOKEN_ENV]?.trim();
  return takesToken && token && !args.includes('--token') ? [...args, '--token', token] : [...args];
}
