import { type Command, Option } from 'commander';
import { type Approval, ApprovalNotPendingError, decideApproval, listApprovals } from '../approvals/index.ts';
import { appendAuditRecord, stateChangeDraft } from '../audit/index.ts';
import { parseTtl } from '../identity/index.ts';
import { CliError, withContext } from './context.ts';
import { byIsGone, OFFICER_TOKEN_ENV, presentedOfficerToken, verifiedOfficer } from './officer-token.ts';
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

interface DecideOptions {
  token?: string;
  dpopKey?: string;
  by?: string;
  reason?: string;
  for?: string;
}

/** Decides as the officer the token names, and audits the decision under that officer in the same transaction. */
async function decide(id: string, status: 'approved' | 'denied', options: DecideOptions): Promise<void> {
  const command = `approvals ${status === 'approved' ? 'approve' : 'deny'}`;
  if (options.by !== undefined) throw byIsGone(command);
  const token = presentedOfficerToken(command, options.token);
  const validSeconds = options.for ? parseTtl(options.for) : undefined;
  await withContext(command, async ({ db, dataDir, config, secrets }) => {
    const officer = await verifiedOfficer(token, { dataDir, registry: config.registry, dpopKeyFile: options.dpopKey });
    try {
      const approval = await db.transaction(async (tx) => {
        const decided = await decideApproval(tx, approvalId(id), {
          status,
          by: officer.id,
          reason: options.reason ?? null,
          ...(validSeconds ? { validSeconds } : {}),
        });
        await appendAuditRecord(
          tx,
          secrets.auditKey,
          stateChangeDraft({
            actor: { kind: 'officer', id: officer.id },
            operationKind: 'approval_decision',
            tables: ['approvals'],
            details: { approval: decided.id, agent: decided.agentId, field: `${decided.table}.${decided.field}`, status, reason: decided.reason, via: 'cli' },
          }),
        );
        return decided;
      });
      show([approval]);
    } catch (error) {
      if (error instanceof ApprovalNotPendingError) throw new CliError(error.message);
      throw error;
    }
  });
}

const tokenOption = () => new Option('--token <token>', `an officer token (default: $${OFFICER_TOKEN_ENV}); the decision is recorded under its officer`);
const dpopKeyOption = () => new Option('--dpop-key <file>', 'with a DPoP-bound officer token: the private JWK it is bound to, to show you hold it');
// Still parsed so that a script passing it hears why it is refused, rather than an unknown option.
const goneByOption = () => new Option('--by <who>').hideHelp();
const OFFICER_HELP = `
The officer deciding is the one an officer token names (schema/agents.yaml officers), verified with the broker's
token keys; the decision and its audit record carry that officer's id. Prefer the environment to --token, which
other users of the machine can read in the process list:
  export ${OFFICER_TOKEN_ENV}=$(npx keyhole token --agent dpo)
  npx keyhole approvals approve 12 --for 8h --reason "KYC review of case 4411"
An officer with DPoP-bound tokens (requireDpop) passes the private key the token is bound to:
  export ${OFFICER_TOKEN_ENV}=$(npx keyhole token --agent dpo --dpop-jwk dpo-key.jwk)
  npx keyhole approvals approve 12 --dpop-key dpo-key.jwk`;

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
    .option('--reason <text>', 'why (kept with the approval)')
    .addOption(tokenOption())
    .addOption(dpopKeyOption())
    .addOption(goneByOption())
    .addHelpText('after', OFFICER_HELP)
    .action((id: string, options: DecideOptions) => decide(id, 'approved', options));
  approvals
    .command('deny <id>')
    .description('Deny a pending request')
    .requiredOption('--reason <text>', 'why (kept with the decision)')
    .addOption(tokenOption())
    .addOption(dpopKeyOption())
    .addOption(goneByOption())
    .addHelpText('after', OFFICER_HELP)
    .action((id: string, options: DecideOptions) => decide(id, 'denied', options));
}
