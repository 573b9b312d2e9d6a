import type { Command } from 'commander';
import { type Approval, ApprovalNotPendingError, decideApproval, listApprovals } from '../approvals/index.ts';
import { parseTtl } from '../identity/index.ts';
import { CliError, withContext } from './context.ts';
import { printTable, stdout } from './output.ts';

function show(approvals: Approval[]): void {
  if (approvals.length === 0) {
    stdout().write('no approvals\n');
    return;
  }
  printTable(
    approvals.map((a) => ({
      id: a.id,
      agent: a.agentId,
      purpose: a.purpose,
      field: `${a.table}.${a.field}`,
      status: a.status,
      requested: a.requestedAt.toISOString(),
      decided: a.decidedAt ? `${a.decidedAt.toISOString()} by ${a.decidedBy}` : '',
      expires: a.expiresAt?.toISOString() ?? '',
      reason: a.reason ?? '',
    })),
  );
}

function approvalId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) throw new CliError(`"${text}" is not an approval id`);
  return id;
}

async function decide(id: string, status: 'approved' | 'denied', options: { by: string; reason?: string; for?: string }): Promise<void> {
  const validSeconds = options.for ? parseTtl(options.for) : undefined;
  await withContext(`approvals ${status === 'approved' ? 'approve' : 'deny'}`, async ({ db }) => {
    try {
      const approval = await decideApproval(db, approvalId(id), {
        status,
        by: options.by,
        reason: options.reason ?? null,
        ...(validSeconds ? { validSeconds } : {}),
      });
      show([approval]);
    } catch (error) {
      if (error instanceof ApprovalNotPendingError) throw new CliError(error.message);
      throw error;
    }
  });
}

export function registerApprovalCommands(program: Command): void {
  const approvals = program.command('approvals').description('Human approvals for fields a policy reserves (e.g. kyc-bot and national IDs)');
  approvals
    .command('list')
    .description('List approval requests, newest first')
    .option('--status <status>', 'pending, approved or denied')
    .action(async (options: { status?: string }) => {
      if (options.status && !['pending', 'approved', 'denied'].includes(options.status)) throw new CliError('--status must be pending, approved or denied');
      await withContext('approvals list', async ({ db }) => show(await listApprovals(db, options.status as Approval['status'] | undefined)));
    });
  approvals
    .command('approve <id>')
    .description('Approve a pending request; the agent may then read the field for the given time')
    .option('--for <duration>', 'how long the approval lasts, e.g. 30m, 8h, 1d', '24h')
    .option('--by <who>', 'who approves', process.env.USER ?? 'officer')
    .option('--reason <text>', 'why (kept with the approval)')
    .action((id: string, options: { for: string; by: string; reason?: string }) => decide(id, 'approved', options));
  approvals
    .command('deny <id>')
    .description('Deny a pending request')
    .requiredOption('--reason <text>', 'why (kept with the decision)')
    .option('--by <who>', 'who denies', process.env.USER ?? 'officer')
    .action((id: string, options: { by: string; reason: string }) => decide(id, 'denied', options));
}
