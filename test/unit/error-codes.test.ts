import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/request/refusals.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

/** `code` → HTTP status, read from the README's error table (a row may name two codes and two statuses). */
function readmeTable(): Map<string, number> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const table = new Map<string, number>();
  for (const line of readme.split('\n')) {
    const match = /^\| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \| ([\d /]+) \|/.exec(line);
    if (!match) continue;
    const codes = [...match[1]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
    const statuses = match[2]!.split('/').map((s) => Number(s.trim()));
    codes.forEach((code, i) => {
      table.set(code, statuses[i] ?? statuses[0]!);
    });
  }
  return table;
}

describe("the README's error table", () => {
  const documented = readmeTable();
  it('lists every code of the registry, with its HTTP status, and no other', () => {
    const registry = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    expect(Object.fromEntries(documented)).toEqual(registry);
  });
});
