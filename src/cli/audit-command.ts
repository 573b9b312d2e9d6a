import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import {
  type ChainVerification,
  describeConflicts,
  eraseSubject,
  planPrune,
  pruneAuditLog,
  PruneRefusedError,
  retentionPolicy,
  RetentionPolicyError,
  type RetentionPolicy,
  type RetentionRuleSets,
  verifyWholeAuditChain,
} from '../audit/index.ts';
import { loadJurisdictionRules } from '../compliance/index.ts';
import { registerAuditExport } from './audit-export.ts';
import { checkpointsReport, registerProvableAuditCommands, verifyCheckpointsFor } from './audit-provable-command.ts';
import { CliError, withContext } from './context.ts';
import { type Progress, progressBar } from './progress.ts';
import { stdout } from './output.ts';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A date (midnight UTC) or an ISO timestamp. */
function parseCutOff(value: string): Date {
  const parsed = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError(`expected a date such as 2026-01-01 or an ISO timestamp, got "${value}"`);
  return parsed;
}

function parseBatchSize(value: string): number {
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return size;
}

/** Who runs a maintenance command, for its audit record. */
function cliActor() {
  return { kind: 'cli' as const, id: process.env.USER ?? null };
}

function chainSummary(result: ChainVerification): string {
  const pruned = result.prunedThrough ? `; records 1-${result.prunedThrough} pruned under a signed checkpoint` : '';
  return `audit chain OK: ${result.checked} records verified, head at ${result.headSeq}${pruned}`;
}

/** Faults listed in the human report; `--json` lists them all. */
const LISTED_FAULTS = 20;

function brokenChainReport(result: ChainVerification): string {
  const [first, ...rest] = result.bad;
  const lines = [
    `audit chain BROKEN at record ${first!.seq} (${first!.problem}): ${first!.detail}; ${result.bad.length} fault(s) in all, ${result.checked} records checked`,
    ...rest.slice(0, LISTED_FAULTS - 1).map((fault) => `  record ${fault.seq} (${fault.problem}): ${fault.detail}`),
  ];
  if (result.bad.length > LISTED_FAULTS) lines.push(`  … and ${result.bad.length - LISTED_FAULTS} more (--json lists every one)`);
  return lines.join('\n');
}

function cliRetentionPolicy(rules: RetentionRuleSets, operatorJurisdiction: string | undefined): RetentionPolicy {
  try {
    return retentionPolicy(rules, operatorJurisdiction);
  } catch (error) {
    if (error instanceof RetentionPolicyError) throw new CliError(error.message);
    throw error;
  }
}

/** A bar per phase of a long command (verifying, then pruning). */
function phasedProgress(): { update(phase: string, done: number, total: number): void; stop(): void } {
  let bar: Progress | null = null;
  let current = '';
  return {
    update(phase, done, total) {
      if (!bar || phase !== current) {
        bar?.stop();
        bar = progressBar(phase);
        current = phase;
      }
      bar.update(done, total);
    },
    stop: () => bar?.stop(),
  };
}

interface PruneCommandOptions {
  before: Date;
  jurisdiction?: string;
  dryRun?: boolean;
  force?: boolean;
  batchSize?: number;
}

interface EraseCommandOptions {
  kind: string;
  id: string;
  reference?: string;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Check and export the hash-chained audit log');
  registerAuditExport(audit);
  registerProvableAuditCommands(audit);
  audit
    .command('verify')
    .description('Verify the whole audit chain; reports every changed, removed, inserted or reordered record (exit 2 if any)')
    .option('--json', 'print the result as JSON')
    .option(
      '--checkpoints <dir|s3-url|url>',
      'also check the log against signed checkpoints kept outside it (the sink directory, s3://bucket/prefix, or a URL serving a JSON array of notes): catches a cut-off tail, a rewritten log, a checkpoint deleted from the sink',
    )
    .option('--public-key <key>', "with --checkpoints: the checkpoint verifier key or a file holding it (default: this broker's own)")
    .action(async (options: { json?: boolean; checkpoints?: string; publicKey?: string }) => {
      const { result, checkpoints } = await withContext('audit verify', async (ctx) => {
        const bar = options.json ? null : progressBar('verifying');
        try {
          const result = await verifyWholeAuditChain(ctx.db, ctx.secrets.auditKey, (checked, total) => bar?.update(checked, total));
          return { result, checkpoints: options.checkpoints ? await verifyCheckpointsFor(ctx, options.checkpoints, options.publicKey) : null };
        } finally {
          bar?.stop();
        }
      });
      if (options.json) stdout().write(`${JSON.stringify(checkpoints ? { ...result, checkpoints } : result)}\n`);
      const failures = [...(result.ok ? [] : [brokenChainReport(result)]), ...(checkpoints && !checkpoints.ok ? [checkpointsReport(checkpoints)] : [])];
      if (failures.length > 0) throw new CliError(failures.join('\n'), 2);
      if (!options.json) stdout().write(`${[chainSummary(result), ...(checkpoints ? [checkpointsReport(checkpoints)] : [])].join('\n')}\n`);
    });

  audit
    .command('prune')
    .description(
      'Delete records recorded before a cut-off, leaving a signed checkpoint so the chain still verifies; refuses records a ' +
        "jurisdiction's retention period still covers (records naming no subject: --jurisdiction's period, else the longest)",
    )
    .requiredOption('--before <date>', 'cut-off: records recorded before it go (a date is midnight UTC)', parseCutOff)
    .option('--jurisdiction <code>', "the operator's own jurisdiction, whose retention applies to records that name no data subject")
    .option('--dry-run', 'only say what would be pruned and what retention forbids')
    .option('--force', 'prune even records a retention period still covers (the override is audited)')
    .option('--batch-size <n>', 'records per transaction', parseBatchSize)
    .action(async (options: PruneCommandOptions) => {
      const message = await withContext('audit prune', async ({ root, db, secrets }) => {
        const rules = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
        const policy = cliRetentionPolicy(rules, options.jurisdiction);
        const plan = await planPrune(db, { before: options.before, policy });
        const range = plan.records > 0 ? `${plan.records} records (${plan.fromSeq}-${plan.throughSeq})` : 'no records';
        const conflicts = describeConflicts(plan.conflicts);
        if (options.dryRun) {
          return [`would prune ${range} recorded before ${options.before.toISOString()}`, ...conflicts.map((c) => `retention: ${c}`)].join('\n');
        }
        if (plan.records === 0) return `nothing to prune before ${options.before.toISOString()}`;
        const progress = phasedProgress();
        try {
          const result = await pruneAuditLog(db, secrets.auditKey, plan, {
            actor: cliActor(),
            force: options.force,
            batchSize: options.batchSize,
            onProgress: progress.update,
          });
          const forced = options.force && conflicts.length > 0 ? ` (retention overridden: ${conflicts.join('; ')})` : '';
          return `pruned ${result.pruned} records (${plan.fromSeq}-${result.prunedThrough}); checkpoint at ${result.prunedThrough}, audited as record ${result.auditSeq}${forced}`;
        } catch (error) {
          if (error instanceof PruneRefusedError) throw new CliError(`${error.message}${error.overridable ? '; use --force to override' : ''}`, 3);
          throw error;
        } finally {
          progress.stop();
        }
      });
      stdout().write(`${message}\n`);
    });

  audit
    .command('erase-subject')
    .description("Honour an erasure request: destroy the data subject's key so no audit record can be linked to them again")
    .option('--kind <kind>', 'the kind of data subject, as in the catalog', 'customer')
    .requiredOption('--id <id>', "the subject's id")
    .option('--reference <text>', "the erasure request's reference (a ticket number; never the subject's id), recorded in the audit log")
    .action(async (options: EraseCommandOptions) => {
      const message = await withContext('audit erase-subject', async ({ config, db, secrets }) => {
        if (!config.catalog.subjects.has(options.kind)) {
          throw new CliError(`unknown kind of data subject "${options.kind}"; the catalog has: ${[...config.catalog.subjects.keys()].sort().join(', ')}`);
        }
        const result = await eraseSubject(db, secrets, { kind: options.kind, id: options.id, actor: cliActor(), reference: options.reference ?? null });
        return result.keyDestroyed
          ? `erased: ${result.recordsUnlinked} audit records can no longer be linked to this ${options.kind}; audited as record ${result.auditSeq}`
          : `nothing to erase: no key for this ${options.kind} (never in the audit log, or erased before); audited as record ${result.auditSeq}`;
      });
      stdout().write(`${message}\n`);
    });
}
