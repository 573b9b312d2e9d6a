import type { Command } from 'commander';
import { loadProjectConfig, projectRoot, resolveDataDir } from '../config/index.ts';
import { issueToken, loadTokenKeys, parseTtl } from '../identity/index.ts';
import { stderr, stdout } from './output.ts';

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('Print a signed token (EdDSA JWT) for a demo or registered agent, or an officer')
    .requiredOption('--agent <id>', 'agent id from schema/agents.yaml (or an officer id)')
    .option('--purpose <purpose>', "one of the agent's registered purposes (default: its first)")
    .option('--ttl <duration>', "lifetime, e.g. 900, 30m, 1h (default: 1h, or the holder's maximum in schema/agents.yaml if shorter)")
    .addHelpText(
      'after',
      '\nExample:\n  TOKEN=$(npx keyhole token --agent support-bot)\n  curl -s localhost:4000/graphql -H "authorization: Bearer $TOKEN" -H "content-type: application/json" \\\n    -d \'{"query":"{ viewer { agent tables { name fields } } }"}\'',
    )
    .action(async (options: { agent: string; purpose?: string; ttl?: string }) => {
      const config = await loadProjectConfig(projectRoot());
      const keys = await loadTokenKeys(resolveDataDir());
      const token = await issueToken({
        keys,
        registry: config.registry,
        subject: options.agent,
        purpose: options.purpose,
        ttlSeconds: options.ttl === undefined ? undefined : parseTtl(options.ttl),
      });
      stdout().write(`${token}\n`);
      stderr().write(`keyhole: signed with key "${keys.signing?.kid}" (${keys.source}); a broker accepts it only if it verifies with that key\n`);
    });
}
