import { createHash } from 'node:crypto';
import { type ConfigIssue, formatIssue } from '../config/index.ts';
import { readRulesSnapshot } from '../config/rules-versions.ts';
import { runOnBroker } from './admin.ts';
import { CliError } from './context.ts';
import { brokerRules, type RunningBroker } from './running-broker.ts';

/** How the files on disk stand against what a running broker serves. */
export interface RulesDrift {
  broker: string;
  /** The stored version the broker serves under (null before it is stored) and its hash. */
  version: number | null;
  hash: string;
  changedSinceLoaded: boolean;
  /** The files that differ, when the broker could be asked for its version's files (it holds this data dir). */
  changedFiles: string[] | null;
  pending: ConfigIssue[];
}

/** The hidden command a broker runs for `rules check`: its version's files, as path → SHA-256. */
export const LOADED_FILES_COMMAND = ['rules', 'loaded-files'] as const;

export function fileHashes(files: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([path, text]) => [path, createHash('sha256').update(text).digest('hex')]));
}

/** Paths added, removed or changed between two path → hash maps, sorted. */
export function differingFiles(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((path) => before[path] !== after[path]).sort();
}

async function loadedFileHashes(broker: RunningBroker, version: number | null): Promise<Record<string, string> | null> {
  if (broker.handOverPort === undefined || version === null) return null;
  const run = await runOnBroker(broker.handOverPort, [...LOADED_FILES_COMMAND, '--version', String(version)]);
  return run?.exitCode === 0 ? (JSON.parse(run.stdout) as Record<string, string>) : null;
}

/** Compares the files under `root` with the rules version the running broker serves, and reads its pending problems. */
export async function rulesDrift(broker: RunningBroker, root: string): Promise<RulesDrift> {
  const [rules, disk] = await Promise.all([brokerRules(broker), readRulesSnapshot(root)]);
  const changedSinceLoaded = rules.hash !== disk.hash;
  const loaded = changedSinceLoaded ? await loadedFileHashes(broker, rules.version) : null;
  return {
    broker: broker.url,
    version: rules.version,
    hash: rules.hash,
    changedSinceLoaded,
    changedFiles: loaded && differingFiles(loaded, fileHashes(disk.files)),
    pending: [...rules.pending],
  };
}

/** The lines `rules check` prints about the running broker. */
export function formatDrift(drift: RulesDrift): string[] {
  const serves = `rules version ${drift.version ?? '(not stored yet)'} (hash ${drift.hash.slice(0, 12)})`;
  const lines: string[] = [];
  if (!drift.changedSinceLoaded) lines.push(`the running broker at ${drift.broker} serves these files: ${serves}`);
  else {
    const which = drift.changedFiles ? `: ${drift.changedFiles.join(', ')}` : " (ask with the broker's KEYHOLE_DATA_DIR to see which)";
    lines.push(`files changed since the running broker at ${drift.broker} loaded them${which}`);
    lines.push(`  it serves ${serves}; it reloads every rules file by itself once the whole set loads`);
  }
  if (drift.pending.length > 0) {
    lines.push(`the running broker has problems pending on disk (it keeps serving ${serves} meanwhile):`);
    for (const issue of drift.pending) lines.push(`  ${formatIssue(issue)}`);
  }
  return lines;
}

/** The drift, or a note saying why the broker could not be asked (a check of the files still stands without it). */
export async function rulesDriftOrNote(broker: RunningBroker, root: string): Promise<RulesDrift | string> {
  try {
    return await rulesDrift(broker, root);
  } catch (error) {
    if (error instanceof CliError) return error.message;
    throw error;
  }
}
