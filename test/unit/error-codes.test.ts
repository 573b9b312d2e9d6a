import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/request/refusals.ts';
import { IDENTITY_CODES, IdentityError } from '../../src/identity/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

/** Codes raised as literals where GraphQL itself or the HTTP gate refuses, outside both registries. */
const PROTOCOL_CODES = {
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  QUERY_LIMIT_EXCEEDED: 400,
};

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
  const raised = new Map<string, number>([
    ...Object.entries(ERROR_CODES).map(([code, { status }]): [string, number] => [code, status]),
    ...Object.values(IDENTITY_CODES).map((code): [string, number] => [code, new IdentityError(code, '').status]),
    ...Object.entries(PROTOCOL_CODES),
  ]);

  it('lists every code a client can get, with its HTTP status', () => {
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(raised));
  });
});
