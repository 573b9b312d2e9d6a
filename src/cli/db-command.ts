import type { Command } from 'commander';
import { seedDemo } from '../demo/index.ts';
import { migrate } from '../sql/index.ts';
import { CliError, withContext } from './context.ts';
import { progressBar } from './progress.ts';
import { stdout } from './output.ts';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Create Keyhole tables and the demo database');
  db.command('init')
    .description("Create Keyhole's own tables; with --demo also the demo world (customers, accounts, transactions, …)")
    .option('--demo', 'create and fill the demo tables')
    .option('--scale <n>', 'demo size: 1 = 10k customers / 100k transactions, 10 = 1M transactions', '1')
    .option('--reset', 'empty existing demo tables first')
    .addHelpText('after', '\nUses DATABASE_URL when set, else the embedded database under KEYHOLE_DATA_DIR (default ./.keyhole).')
    .action(async (options: { demo?: boolean; scale: string; reset?: boolean }) => {
      const scale = Number(options.scale);
      if (!Number.isFinite(scale) || scale <= 0 || scale > 100) throw new CliError(`--scale must be a number in (0, 100], got "${options.scale}"`);
      await withContext('db init', async ({ db: database, where }) => {
        await migrate(database);
        if (!options.demo) {
          stdout().write(`Keyhole tables ready in ${where}\n`);
          return;
        }
        const bar = progressBar('seeding');
        try {
          const result = await seedDemo(database, { scale, reset: options.reset ?? false, onProgress: (done, total) => bar.update(done, total) });
          bar.stop();
          stdout().write(
            `demo data in ${where}: ${result.customers} customers, ${result.accounts} accounts, ${result.transactions} transactions, ` +
              `${result.healthClaims} health claims, ${result.employees} employees (${(result.millis / 1000).toFixed(1)} s)\n`,
          );
        } finally {
          bar.stop();
        }
      });
    });
}
