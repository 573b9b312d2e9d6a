/**
 * The lines that differ between two rules versions, file by file, for an officer reading what an edit changed.
 * The counts of src/config/rules-versions.ts `diffRules` say how much changed; this says which lines.
 */

export type DiffLineOp = 'added' | 'removed';

export interface DiffLine {
  op: DiffLineOp;
  /** 1-based: in the newer file for an added line, in the older one for a removed line. */
  line: number;
  text: string;
}

export type FileChangeStatus = 'added' | 'removed' | 'changed';

export interface FileLineDiff {
  path: string;
  status: FileChangeStatus;
  lines: DiffLine[];
  /** Changed lines left out past MAX_DIFF_LINES_PER_FILE (a whole new schema file need not be shipped twice). */
  omitted: number;
}

/** How many changed lines of one file an answer carries; the file's full text is in rulesVersion.files. */
export const MAX_DIFF_LINES_PER_FILE = 200;

const split = (text: string): string[] => (text === '' ? [] : text.split('\n'));

/**
 * The removed and added lines of `before` → `after`, by their longest common subsequence, in file order. The common
 * head and tail are set aside first, so a typical edit costs the size of the edited region squared, not the file's.
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = split(before);
  const b = split(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  // common[i][j]: the LCS length of x[i..] and y[j..], so the walk below can go forwards.
  const common = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) common[i]![j] = x[i] === y[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
    } else if (j >= y.length || (i < x.length && common[i + 1]![j]! >= common[i]![j + 1]!)) {
      lines.push({ op: 'removed', line: head + i + 1, text: x[i]! });
      i++;
    } else {
      lines.push({ op: 'added', line: head + j + 1, text: y[j]! });
      j++;
    }
  }
  return lines;
}

function capped(path: string, status: FileChangeStatus, lines: DiffLine[]): FileLineDiff {
  return { path, status, lines: lines.slice(0, MAX_DIFF_LINES_PER_FILE), omitted: Math.max(0, lines.length - MAX_DIFF_LINES_PER_FILE) };
}

/** Every file added, removed or changed from `before` to `after`, in path order, with its changed lines. */
export function rulesLineDiff(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): FileLineDiff[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return paths.flatMap((path) => {
    const old = before[path];
    const now = after[path];
    if (old === now) return [];
    if (old === undefined) return [capped(path, 'added', lineDiff('', now!))];
    if (now === undefined) return [capped(path, 'removed', lineDiff(old, ''))];
    return [capped(path, 'changed', lineDiff(old, now))];
  });
}
