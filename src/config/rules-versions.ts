/**
 * The rules a broker runs under, as one versioned thing: every file of `schema/` and `masking-rules/`, its content
 * hash, and what changed against another version. Stored by src/audit/rules-versions.ts.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The directories whose files make up a rules version, relative to the project root. */
export const RULES_VERSION_DIRS = ['schema', 'masking-rules'] as const;

export interface RulesSnapshot {
  /** SHA-256 over each file's path and bytes, in path order. */
  hash: string;
  /** Path relative to the project (forward slashes) → text. */
  files: Record<string, string>;
}

export interface ChangedFile {
  path: string;
  linesAdded: number;
  linesRemoved: number;
}

export interface RulesDiff {
  added: string[];
  removed: string[];
  changed: ChangedFile[];
}

/** Files under `dir`, relative to `root`; editors' hidden files (swap files, backups) are not rules. */
async function filesUnder(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const nested = await Promise.all(
    entries
      .filter((entry) => !entry.name.startsWith('.'))
      .map((entry) => (entry.isDirectory() ? filesUnder(root, `${dir}/${entry.name}`) : Promise.resolve(entry.isFile() ? [`${dir}/${entry.name}`] : []))),
  );
  return nested.flat();
}

export function snapshotOf(files: Record<string, string>): RulesSnapshot {
  const hash = createHash('sha256');
  const sorted: Record<string, string> = {};
  for (const path of Object.keys(files).sort()) {
    const bytes = Buffer.from(files[path]!, 'utf8');
    // Length-prefixed, so no two different sets of files hash alike.
    hash.update(`${path}\0${bytes.length}\0`).update(bytes);
    sorted[path] = files[path]!;
  }
  return { hash: hash.digest('hex'), files: sorted };
}

/** Reads the files of `dirs` as they are on disk now. */
export async function readRulesSnapshot(root: string, dirs: readonly string[] = RULES_VERSION_DIRS): Promise<RulesSnapshot> {
  const paths = (await Promise.all(dirs.map((dir) => filesUnder(root, dir)))).flat();
  const texts = await Promise.all(paths.map((path) => readFile(join(root, path), 'utf8')));
  return snapshotOf(Object.fromEntries(paths.map((path, i) => [path, texts[i]!])));
}

/**
 * Lines only in `before` and only in `after`, by their longest common subsequence. The common head and tail are
 * set aside first, so a typical edit costs the size of the edited region squared, not the file's.
 */
function lineChanges(before: string, after: string): { linesAdded: number; linesRemoved: number } {
  let a = before.split('\n');
  let b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  a = a.slice(head, a.length - tail);
  b = b.slice(head, b.length - tail);
  let row = new Array<number>(b.length + 1).fill(0);
  for (const line of a) {
    const next = new Array<number>(b.length + 1).fill(0);
    for (let j = 0; j < b.length; j++) next[j + 1] = line === b[j] ? row[j]! + 1 : Math.max(row[j + 1]!, next[j]!);
    row = next;
  }
  const common = row[b.length]!;
  return { linesAdded: b.length - common, linesRemoved: a.length - common };
}

export function diffRules(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): RulesDiff {
  const added = Object.keys(after).filter((path) => !(path in before));
  const removed = Object.keys(before).filter((path) => !(path in after));
  const changed = Object.keys(after)
    .filter((path) => path in before && before[path] !== after[path])
    .map((path) => ({ path, ...lineChanges(before[path]!, after[path]!) }));
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort((x, y) => x.path.localeCompare(y.path)) };
}
