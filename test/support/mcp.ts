import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expect } from 'vitest';
import { DATA_NOTICE } from '../../src/mcp/index.ts';
import type { Queryable } from '../../src/sql/index.ts';

export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

export const auditRecordCount = async (db: Queryable): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n;

/** Calls a tool and checks that the call wrote exactly one audit record. */
export async function auditedToolCall(db: Queryable, client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  const before = await auditRecordCount(db);
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  expect(await auditRecordCount(db), `${name} writes exactly one audit record`).toBe(before + 1);
  return result;
}

/** The JSON a successful data tool returned, after the notice that frames it as data. */
export function toolAnswer(result: ToolResult): { data: Record<string, any>; extensions?: Record<string, unknown> } {
  expect(result.isError, result.content[0]?.text).toBeFalsy();
  expect(result.content[0]!.text).toBe(DATA_NOTICE);
  return JSON.parse(result.content[1]!.text!) as { data: Record<string, any>; extensions?: Record<string, unknown> };
}
