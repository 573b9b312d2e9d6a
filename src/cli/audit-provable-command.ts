import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type Checkpoint, MerkleError, type NoteVerifier, noteVerifierFromKey, rootAt } from '../audit/merkle/index.ts';
import {
  type CheckpointSource,
  type CheckpointVerification,
  checkInclusionProof,
  checkpointSinkAt,
  ensureAuditTree,
  type InclusionProofDocument,
  loadCheckpointSetup,
  nodeReader,
  openCheckpoint,
  ProvableAuditError,
  proveConsistency,
  proveRecord,
  verifyAgainstCheckpoints,
} from '../audit/provable/index.ts';
import type { Db } from '../sql/index.ts';
import { CliError, withContext } from './context.ts';
import { stdout } from './output.ts';

/** A provable-log refusal (or a size the tree does not have) as one CLI line with its code; anything else goes on. */
async function refusalsAsCliErrors<T>(fn: () => Promise<T>, exitCode = 2): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ProvableAuditError || error instanceof MerkleError) throw new CliError(`${error.code}: ${error.message}`, exitCode);
    throw error;
  }
}

/** `--public-key`: a note verifier key (`name+keyid+base64`), or a file holding one. */
async function verifierFrom(key: string): Promise<NoteVerifier> {
  const text = key.includes('+')
    ? key
    : await readFile(key, 'utf8').catch(() => {
        throw new CliError(`--public-key "${key}" is neither a verifier key (name+keyid+base64) nor a readable file`);
      });
  try {
    return noteVerifierFromKey(text.trim());
  } catch (error) {
    throw new CliError(`--public-key: ${(error as Error).message}`);
  }
}

/** The verifier of --public-key, else of this broker's own checkpoint key (its data dir or environment). */
async function checkpointVerifier(dataDir: string, key: string | undefined): Promise<{ verifier: NoteVerifier; origin: string }> {
  const setup = await loadCheckpointSetup(dataDir, process.env);
  return { verifier: key ? await verifierFrom(key) : noteVerifierFromKey(setup.key.verifierKey), origin: setup.config.origin };
}

/**
 * The checkpoints of a sink (a directory, or an s3:// bucket read with the broker's KEYHOLE_CHECKPOINT_S3_* settings),
 * or of a URL serving a JSON array of notes (a copy, which need not hold every checkpoint).
 */
async function readCheckpointSources(where: string): Promise<{ sources: CheckpointSource[]; sink?: string }> {
  if (/^https?:\/\//.test(where)) {
    const response = await fetch(where);
    if (!response.ok) throw new CliError(`--checkpoints ${where} answered ${response.status}`);
    const notes: unknown = await response.json();
    if (!Array.isArray(notes) || !notes.every((note) => typeof note === 'string'))
      throw new CliError(`--checkpoints ${where} must serve a JSON array of signed notes`);
    return { sources: notes.map((note, i) => ({ source: `${where}#${i}`, note })) };
  }
  const sink = checkpointSinkAt(where, process.env);
  const sources = await refusalsAsCliErrors(async () => {
    try {
      return await sink.read();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`--checkpoints ${where}: no such directory`);
      throw error;
    }
  });
  if (sources.length === 0) throw new CliError(`--checkpoints ${where} holds no checkpoints (NNNNNNNNNNNNNNNNNNNN.checkpoint)`);
  return { sources, sink: sink.where };
}

/** `audit verify --checkpoints`: the log against checkpoints kept outside it; a report line, or throws exit 2. */
export async function verifyCheckpointsFor(ctx: { db: Db; dataDir: string }, where: string, key: string | undefined): Promise<CheckpointVerification> {
  const { sources, sink } = await readCheckpointSources(where);
  const { verifier, origin } = await checkpointVerifier(ctx.dataDir, key);
  return refusalsAsCliErrors(() => verifyAgainstCheckpoints(ctx.db, sources, verifier, origin, { sink }));
}

export function checkpointsReport(result: CheckpointVerification): string {
  if (result.ok) return `checkpoints OK: ${result.checkpoints} signed checkpoints match the log's tree of ${result.treeSize} records`;
  return [
    `checkpoints FAILED: ${result.faults.length} fault(s) against ${result.checkpoints} valid checkpoint(s); the log's tree holds ${result.treeSize} records`,
    ...result.faults.map((fault) => `  ${fault.problem}: ${fault.detail}`),
  ].join('\n');
}

/** A record by seq, or by its request id. */
async function seqOf(db: Db, record: string): Promise<number> {
  if (/^[1-9]\d*$/.test(record)) return Number(record);
  const row = (await db.query<{ seq: number }>('SELECT seq FROM audit_log WHERE request_id = $1 ORDER BY seq LIMIT 1', [record])).rows[0];
  if (!row) throw new CliError(`no audit record has the seq or request id "${record}"`, 2);
  return Number(row.seq);
}

/** `audit consistency` arguments: a checkpoint file (its signature checked), or a size (the root from the log's tree). */
async function treeHeadOf(db: Db, verifier: NoteVerifier, spec: string): Promise<Pick<Checkpoint, 'size' | 'root'>> {
  if (/^\d+$/.test(spec)) return { size: Number(spec), root: await refusalsAsCliErrors(() => rootAt(Number(spec), nodeReader(db))) };
  const note = await readFile(spec, 'utf8').catch(() => {
    throw new CliError(`"${spec}" is neither a tree size nor a readable checkpoint file`);
  });
  return openCheckpoint(note, verifier);
}

export function registerProvableAuditCommands(audit: Command): void {
  audit
    .command('prove')
    .description('Print an inclusion proof (JSON) of one record against the latest signed checkpoint, checkable offline with `audit check-proof`')
    .argument('<record>', "the record's seq or request id")
    .option('--out <file>', 'write the proof to a file instead of standard output')
    .action(async (record: string, options: { out?: string }) => {
      const proof = await withContext('audit prove', async ({ db }) => {
        await ensureAuditTree(db);
        const seq = await seqOf(db, record);
        return refusalsAsCliErrors(() => proveRecord(db, seq));
      });
      const text = `${JSON.stringify(proof, null, 2)}\n`;
      if (options.out) await writeFile(options.out, text);
      else stdout().write(text);
    });

  audit
    .command('check-proof')
    .description('Check an inclusion proof offline, with the checkpoint public key only (no database): signature, leaf, path to the root')
    .argument('<file>', 'a proof written by `audit prove`')
    .requiredOption('--public-key <key>', 'the checkpoint verifier key (GET /.well-known/keyhole/checkpoint-key), or a file holding it')
    .action(async (file: string, options: { publicKey: string }) => {
      const verifier = await verifierFrom(options.publicKey);
      const text = await readFile(file, 'utf8').catch(() => {
        throw new CliError(`cannot read the proof file ${file}`);
      });
      let document: InclusionProofDocument;
      try {
        document = JSON.parse(text) as InclusionProofDocument;
      } catch {
        throw new CliError(`${file} is not JSON: expected a proof written by \`keyhole audit prove\``, 2);
      }
      const checkpoint = await refusalsAsCliErrors(async () => checkInclusionProof(document, verifier));
      stdout().write(
        `proof OK: record ${document.record.seq} is leaf ${document.leafIndex} of the ${checkpoint.size}-record log "${checkpoint.origin}" signed by ${verifier.name}\n`,
      );
    });

  audit
    .command('consistency')
    .description('Prove and verify that a later tree extends an earlier one (RFC 9162 consistency proof); prints it as JSON, exit 2 if it fails')
    .argument('<old>', 'the earlier checkpoint file, or a tree size')
    .argument('<new>', 'the later checkpoint file, or a tree size')
    .option('--public-key <key>', "the checkpoint verifier key or a file holding it (default: this broker's own)")
    .action(async (oldSpec: string, newSpec: string, options: { publicKey?: string }) => {
      const result = await withContext('audit consistency', async ({ db, dataDir }) => {
        await ensureAuditTree(db);
        const { verifier } = await checkpointVerifier(dataDir, options.publicKey);
        return refusalsAsCliErrors(async () => proveConsistency(db, await treeHeadOf(db, verifier, oldSpec), await treeHeadOf(db, verifier, newSpec)));
      });
      stdout().write(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.verified)
        throw new CliError(`consistency FAILED: the tree of ${result.size2} records does not extend the tree of ${result.size1} records`, 2);
    });
}
