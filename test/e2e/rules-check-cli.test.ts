import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cliOutcome, keyholeCli } from '../support/cli.ts';
import { projectWith } from '../support/project.ts';
import { COLLECTIONS_BOT } from '../support/collections-bot.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** `keyhole rules check` on a copy of the project with `edits`, to its exit code. */
async function rulesCheck(edits: Record<string, (text: string) => string>, ...flags: string[]) {
  const root = await projectWith(edits);
  roots.push(root);
  const env: NodeJS.ProcessEnv = { ...process.env, KEYHOLE_ROOT: root };
  return cliOutcome(keyholeCli(env)('rules', 'check', ...flags));
}

describe('keyhole rules check', () => {
  it("exits 1 on the issue's collections-bot, naming file:line, field, why and the fix", async () => {
    const result = await rulesCheck(COLLECTIONS_BOT);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED: .* 1 error\(s\), 1 warning\(s\)/);
    expect(result.stderr).toMatch(
      /error: schema\/agents\.yaml:\d+: agents\.collections-bot\.purposes\[0\]: every answer from customers to collections-bot acting for debt_collection is refused/,
    );
    expect(result.stderr).toMatch(/warning: schema\/policies\.yaml:\d+: policies\[0\]\.tables\.customers\.fields\[1\]: customers\.full_name is listed/);
    expect(result.stderr).toMatch(/\n {4}fix: .*purposeLimitation\.purposes in schema\/jurisdictions\/gdpr\.yaml:\d+/);
  });

  it('prints the same findings as JSON', async () => {
    const result = await rulesCheck(COLLECTIONS_BOT, '--json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; errors: number; warnings: number; findings: Array<{ severity: string; file: string }> };
    expect(report).toMatchObject({ ok: false, errors: 1, warnings: 1 });
    expect(report.findings.map((f) => [f.severity, f.file])).toEqual([
      ['warning', 'schema/policies.yaml'],
      ['error', 'schema/agents.yaml'],
    ]);
  });

  it('names schema/ errors relative to the project, with the valid choices and a "did you mean"', async () => {
    const result = await rulesCheck({
      'schema/agents.yaml': (text) => text.replace('role: support', 'role: suport'),
      'schema/jurisdictions/gdpr.yaml': (text) => text.replace('withoutBasis: { outcome: deny', 'withoutBasis: { outcome: dney'),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED: 2 error\(s\)/);
    expect(result.stderr).toMatch(
      /error: schema\/agents\.yaml:\d+: agents\.support-bot\.role: unknown role "suport" \(expected one of: support, fraud, analytics, kyc; did you mean "support"\?\)/,
    );
    expect(result.stderr).toMatch(/error: schema\/jurisdictions\/gdpr\.yaml:\d+: transfers\.withoutBasis\.outcome: .*did you mean "deny"\?/);
    expect(result.stderr).not.toContain(roots.at(-1)!);
  });
});
