import type { Command } from 'commander';
import { verifyAuditChain } from '../audit/index.ts';
import { CliError, withContext } from './context.ts';
import { progressBar } from './progress.ts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Check and export the hash-chained audit log');
  audit
    .command('verify')
    .description('Verify the whole audit chain; names the first changed, removed, inserted or reordered record')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withContext('audit verify', async ({ db, secrets }) => {
        const bar = options.json ? null : progressBar('verifying');
        try {
          return await verifyAuditChain(db, secrets.auditKey, (checked, total) => bar?.update(checked, total));
        } finally {
          bar?.stop();
        }
      });
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      if (!result.ok) {
        const bad = result.firstBad!;
        throw new CliError(`audit chain BROKEN at record ${bad.seq} (${bad.problem}): ${bad.detail}; ${result.checked} records verified before it`, 2);
      }
      if (!options.json) process.stdout.write(`audit chain OK: ${result.checked} records verified, head at ${result.headSeq}\n`);
    });
}
