import type { Command } from 'commander';
import { loadProjectConfig, projectRoot, resolveDataDir } from '../config/index.ts';
import { readFile } from 'node:fs/promises';
import { dpopKeyThumbprint, issueToken, loadTokenKeys, parseTtl, type TokenKeys } from '../identity/index.ts';
import { CliError } from './context.ts';
import { stderr, stdout } from './output.ts';
import { personClaims } from './person-claims.ts';
import { BROKER_URL_OPTION, brokerTokenKeys, findRunningBroker } from './running-broker.ts';
import { describeKeys, signerOf, verifiesWith } from './token-key-check.ts';

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('Print a signed token (EdDSA JWT) for a demo or registered agent, or an officer')
    .requiredOption('--agent <id>', 'agent id from schema/agents.yaml (or an officer id)')
    .option('--purpose <purpose>', "one of the agent's registered purposes (default: its first)")
    .option('--ttl <duration>', "lifetime, e.g. 900, 30m, 1h (default: 1h, or the holder's maximum in schema/agents.yaml if shorter)")
    .option(...BROKER_URL_OPTION)
    .option('--for <person>', 'a delegated token (RFC 8693): the agent acts for this person (sub = the person, act.sub = the agent)')
    .option(
      '--claim <key=value>',
      'a claim of the person (with --for), repeatable; a value with commas is a list: --claim regions=EU-DE,EU-FR --claim role=clerk',
      (item: string, claims: string[]) => [...claims, item],
      [] as string[],
    )
    .option(
      '--dpop-jwk <file>',
      'bind the token to this DPoP key (a JWK file, public or private; cnf.jkt is its thumbprint): it is then accepted only as Authorization: DPoP <token> with a DPoP proof signed by that key',
    )
    .addHelpText(
      'after',
      '\nExample:\n  TOKEN=$(npx keyhole token --agent support-bot)\n  curl -s localhost:4000/graphql -H "authorization: Bearer $TOKEN" -H "content-type: application/json" \\\n    -d \'{"query":"{ viewer { agent tables { name fields } } }"}\'' +
        '\n\nA delegated token: support-bot acting for clerk ada of the EU desk (schema/policies.yaml `delegation`):\n  npx keyhole token --agent support-bot --for ada --claim regions=EU-DE,EU-FR --claim role=clerk' +
        '\n\nA DPoP-bound token (docs/identity.md):\n  npx keyhole token --agent support-bot --dpop-jwk agent-key.jwk\n  (send it as "authorization: DPoP $TOKEN" with a "dpop: <proof>" header, a new proof per request)',
    )
    .action(async (options: { agent: string; purpose?: string; ttl?: string; broker?: string; dpopJwk?: string; for?: string; claim: string[] }) => {
      if (options.claim.length > 0 && options.for === undefined) throw new CliError('--claim describes the person a token acts for: add --for <person>');
      const config = await loadProjectConfig(projectRoot());
      const keys = await loadTokenKeys(resolveDataDir());
      const checked = await checkedAgainstRunningBroker(keys, options.broker);
      const token = await issueToken({
        keys,
        registry: config.registry,
        subject: options.agent,
        purpose: options.purpose,
        ttlSeconds: options.ttl === undefined ? undefined : parseTtl(options.ttl),
        dpopJkt: options.dpopJwk === undefined ? undefined : await dpopJktOf(options.dpopJwk),
        onBehalfOf: options.for === undefined ? undefined : { id: options.for, claims: personClaims(options.claim) },
      });
      stdout().write(`${token}\n`);
      stderr().write(`keyhole: signed with key "${keys.signing?.kid}" (${keys.source}); ${checked}\n`);
    });
}

/**
 * A token the running broker would refuse is not minted: the commonest first mistake is a token signed with the
 * key pair of another data dir. Returns what to say about the check; with no broker running, mints as before.
 */
async function checkedAgainstRunningBroker(keys: TokenKeys, url: string | undefined): Promise<string> {
  const broker = await findRunningBroker(url);
  if (!broker || !keys.signing) return 'a broker accepts it only if it verifies with that key';
  const held = await brokerTokenKeys(broker);
  const signer = signerOf(keys.signing);
  if (!verifiesWith(held, signer)) {
    throw new CliError(
      `not minted: the broker at ${broker.url} (${broker.found}) verifies with ${describeKeys(held)}, not with key "${signer.kid}" (${keys.source}). ` +
        "Run keyhole token with the broker's KEYHOLE_DATA_DIR (the data dir it was started with), or with KEYHOLE_TOKEN_PRIVATE_KEY and KEYHOLE_TOKEN_KID of a key it verifies with; or point --broker / KEYHOLE_URL at the broker you mean",
    );
  }
  return `the broker at ${broker.url} (${broker.found}) verifies with it`;
}

/** The thumbprint of the DPoP key in a JWK file, or a CliError saying what is wrong with the file. */
async function dpopJktOf(file: string): Promise<string> {
  let jwk: unknown;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`--dpop-jwk ${file}: not a readable JSON Web Key file (${(error as Error).message})`);
  }
  try {
    return await dpopKeyThumbprint(jwk);
  } catch (error) {
    throw new CliError(`--dpop-jwk ${file}: ${(error as Error).message}`);
  }
}
