import type { JWK } from 'jose';
import { resolveDataDir } from '../config/index.ts';
import type { RulesInForce } from '../http/health.ts';
import { TOKEN_KEYS_PATH } from '../http/token-keys-route.ts';
import { brokerPortHolding } from '../sql/embedded.ts';
import { CliError } from './context.ts';

/** A broker a CLI command should agree with: the one it was pointed at, or the one holding its data dir. */
export interface RunningBroker {
  url: string;
  /** How it was found, for messages. */
  found: string;
  /** Its port, when it holds this CLI's data dir: the CLI can then also hand commands over to it (admin.ts). */
  handOverPort?: number;
}

/** Options of the commands that check themselves against a running broker. */
export const BROKER_URL_OPTION = [
  '--broker <url>',
  'the running broker to check against (default: KEYHOLE_URL, else the one holding KEYHOLE_DATA_DIR)',
] as const;

/** `--broker`, else KEYHOLE_URL, else the broker holding the data dir's embedded database; none is not an error. */
export async function findRunningBroker(url: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RunningBroker | undefined> {
  const named = url ?? env.KEYHOLE_URL;
  if (named) return { url: named.replace(/\/+$/, ''), found: url ? `--broker ${named}` : `KEYHOLE_URL=${named}` };
  const dataDir = resolveDataDir(env);
  const port = await brokerPortHolding(dataDir);
  return port === undefined ? undefined : { url: `http://127.0.0.1:${port}`, found: `it holds ${dataDir}`, handOverPort: port };
}

/** GET `path` on the broker as JSON, failing closed with a message that says which broker did not answer. */
async function getJson(broker: RunningBroker, path: string): Promise<unknown> {
  const response = await fetch(`${broker.url}${path}`, { signal: AbortSignal.timeout(5000) }).catch((error: Error) => {
    throw new CliError(`cannot ask the broker at ${broker.url} (${broker.found}): ${error.message}`);
  });
  const body = await response.json().catch(() => undefined);
  if (body === undefined || (!response.ok && response.status !== 503)) {
    throw new CliError(`the broker at ${broker.url} (${broker.found}) answered ${path} with HTTP ${response.status}; is it a Keyhole broker of this version?`);
  }
  return body;
}

/** The public keys the broker verifies tokens with. */
export async function brokerTokenKeys(broker: RunningBroker): Promise<JWK[]> {
  const body = (await getJson(broker, TOKEN_KEYS_PATH)) as { keys?: JWK[] };
  if (!Array.isArray(body.keys)) throw new CliError(`the broker at ${broker.url} sent no key list at ${TOKEN_KEYS_PATH}`);
  return body.keys;
}

/** The rules version the broker serves under and the problems pending on its disk, from its /readyz. */
export async function brokerRules(broker: RunningBroker): Promise<RulesInForce> {
  const body = (await getJson(broker, '/readyz')) as { rules?: RulesInForce };
  if (!body.rules) throw new CliError(`the broker at ${broker.url} does not say on /readyz which rules version it serves`);
  return body.rules;
}
