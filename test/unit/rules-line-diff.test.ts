import { describe, expect, it } from 'vitest';
import { diffRules } from '../../src/config/rules-versions.ts';
import { lineDiff, MAX_DIFF_LINES_PER_FILE, rulesLineDiff } from '../../src/config/rules-line-diff.ts';

describe("a rules version's changed lines", () => {
  it('names each removed and added line with its number in the older and the newer file', () => {
    expect(lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne')).toEqual([
      { op: 'removed', line: 2, text: 'b' },
      { op: 'added', line: 2, text: 'B' },
      { op: 'added', line: 5, text: 'e' },
    ]);
    expect(lineDiff('same\n', 'same\n')).toEqual([]);
  });

  it('agrees with the counts diffRules stores', () => {
    const before = { 'm.yaml': 'x\ny\nz\nw', 'gone.yaml': 'g\nh' };
    const after = { 'm.yaml': 'x\nY\nz\nw\nv', 'new.yaml': 'n' };
    const files = rulesLineDiff(before, after);
    expect(files.map((f) => [f.path, f.status])).toEqual([
      ['gone.yaml', 'removed'],
      ['m.yaml', 'changed'],
      ['new.yaml', 'added'],
    ]);
    const changed = files.find((f) => f.status === 'changed')!;
    const count = (op: string) => changed.lines.filter((l) => l.op === op).length;
    expect([{ path: 'm.yaml', linesAdded: count('added'), linesRemoved: count('removed') }]).toEqual(diffRules(before, after).changed);
    expect(files.find((f) => f.path === 'gone.yaml')!.lines).toEqual([
      { op: 'removed', line: 1, text: 'g' },
      { op: 'removed', line: 2, text: 'h' },
    ]);
  });

  it('carries at most MAX_DIFF_LINES_PER_FILE lines of a file and counts the rest', () => {
    const big = Array.from({ length: MAX_DIFF_LINES_PER_FILE + 7 }, (_, i) => `line ${i}`).join('\n');
    const [added] = rulesLineDiff({}, { 'schema/big.yaml': big });
    expect(added!.lines).toHaveLength(MAX_DIFF_LINES_PER_FILE);
    expect(added!.omitted).toBe(7);
  });
});
