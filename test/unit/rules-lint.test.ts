import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';
import { loadProjectConfig } from '../../src/config/index.ts';
import { type LintFinding, lintProject, readLintSources } from '../../src/cli/rules-lint.ts';
import { createMaskingKeys, deciderFor, loadMaskingRules } from '../../src/masking/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { COLLECTIONS_BOT } from '../support/collections-bot.ts';
import { projectWith } from '../support/project.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function lint(edits: Record<string, (text: string) => string> = {}): Promise<{ root: string; findings: LintFinding[] }> {
  const root = Object.keys(edits).length === 0 ? PROJECT_ROOT : await projectWith(edits);
  if (root !== PROJECT_ROOT) roots.push(root);
  const config = await loadProjectConfig(root);
  const jurisdictions = await loadJurisdictionRules(join(root, 'schema', 'jurisdictions'));
  const keys = createMaskingKeys(Buffer.alloc(32, 1), 'lint-test');
  const masking = await loadMaskingRules(root, config, keys);
  const sources = await readLintSources(root, jurisdictions.sets);
  return { root, findings: lintProject({ config, masking, decide: deciderFor(masking, keys).decide, jurisdictions, sources }) };
}

async function lineText(root: string, finding: LintFinding): Promise<string> {
  return (await readFile(join(root, finding.file), 'utf8')).split('\n')[finding.line - 1] ?? '';
}

describe('rules check lints the project across files', () => {
  it('finds nothing in the shipped project', async () => {
    expect((await lint()).findings).toEqual([]);
  });

  it("flags the issue's collections-bot: a listed name no rule covers, and a purpose no rule set knows", async () => {
    const { root, findings } = await lint(COLLECTIONS_BOT);
    const hidden = findings.find((f) => f.message.includes('customers.full_name'))!;
    expect(hidden).toMatchObject({ severity: 'warning', file: 'schema/policies.yaml', field: 'policies[0].tables.customers.fields[1]' });
    expect(hidden.message).toContain('no masking rule covers pii.name for collections-bot: it is hidden (fail closed)');
    expect(hidden.fix).toContain('roles: [collections]');
    expect(await lineText(root, hidden)).toContain('full_name');

    const refused = findings.filter((f) => f.severity === 'error');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ file: 'schema/agents.yaml', field: 'agents.collections-bot.purposes[0]' });
    expect(refused[0]!.message).toMatch(/every answer from customers to collections-bot acting for debt_collection is refused \(COMPLIANCE_DENIED\)/);
    expect(refused[0]!.message).toContain('GDPR: purpose "debt_collection" was not notified to EU-DE subjects');
    expect(refused[0]!.fix).toMatch(/under purposeLimitation\.purposes in schema\/jurisdictions\/gdpr\.yaml:\d+/);
    expect(await lineText(root, refused[0]!)).toContain('debt_collection');
    // Only the masked e-mail and the unmasked fields are visible: the hidden name is not what is refused.
    expect(findings.filter((f) => f.message.includes('email'))).toEqual([]);
  });

  it('says for whom a field stays hidden when a rule covers it for some jurisdictions only', async () => {
    const { findings } = await lint({
      ...COLLECTIONS_BOT,
      'masking-rules/customers.yaml': (text) =>
        `${text}\n  - columns: [customers.full_name]\n    roles: [collections]\n    subjectJurisdictions: [SG]\n    mask: clear\n`,
    });
    const hidden = findings.filter((f) => f.message.includes('customers.full_name'));
    expect(hidden).toHaveLength(1);
    expect(hidden[0]!.message).toContain('it is hidden for subjects of every jurisdiction but SG (fail closed)');
  });

  it('is quiet once the steward has told every governing rule set about the purpose and covered the name', async () => {
    const notified = (text: string) => text.replace(/(purposeLimitation:[\s\S]*?purposes:[^\n]*\n)/, '$1    debt_collection: [identifier, personal]\n');
    const edits = {
      ...COLLECTIONS_BOT,
      'schema/policies.yaml': (text: string) =>
        COLLECTIONS_BOT['schema/policies.yaml'](text).replace(
          'subjectJurisdiction: { in: { session: agent.serves } }\n    tables:\n      customers:',
          'subjectJurisdiction: { in: [EU-DE, EU-FR] }\n    tables:\n      customers:',
        ),
      'schema/jurisdictions/gdpr.yaml': notified,
      'masking-rules/customers.yaml': (text: string) =>
        `${text}\n  - description: Collections greets the customer by name.\n    columns: [customers.full_name]\n    roles: [collections]\n    mask: clear\n`,
    };
    expect((await lint(edits)).findings).toEqual([]);
  });

  it('warns, once per table, on fields a transfer rule refuses, naming the bases that would do', async () => {
    const { root, findings } = await lint({
      'schema/agents.yaml': (text) =>
        text.replace(
          '      EU-DE: [standard_contractual_clauses]\n      EU-FR: [standard_contractual_clauses]\n      AU: [contractual_safeguards]',
          '      AU: [contractual_safeguards]',
        ),
    });
    // An answer of public fields only (residency, segment) leaves no personal data: it is not refused, so no error.
    expect(findings.map((f) => [f.severity, f.field])).toEqual([
      ['warning', 'policies[0].tables.customers'],
      ['warning', 'policies[0].tables.accounts.fields[1]'],
    ]);
    const refused = findings;
    expect(refused[0]!.message).toMatch(
      /^answers from customers that include any of id, full_name, .* are refused to support-bot acting for customer_service \(TRANSFER_DENIED\): GDPR: .*without a transfer basis/,
    );
    expect(refused[0]!.fix).toMatch(
      /^put a transfer basis in place and list it under agents\.support-bot\.transferBases \(EU-DE, EU-FR\) in schema\/agents\.yaml \(GDPR bases: adequacy, /,
    );
    // A table's finding stands on the first line of its block, right under `customers:`.
    expect(await lineText(root, { ...refused[0]!, line: refused[0]!.line - 1 })).toContain('customers:');
  });

  it('errs on a purpose an agent may declare that no policy covers (an empty view)', async () => {
    const { findings } = await lint({
      'schema/agents.yaml': (text) => text.replace('purposes: [kyc_verification]', 'purposes: [kyc_verification, claims]'),
    });
    expect(findings).toEqual([
      expect.objectContaining({
        severity: 'error',
        file: 'schema/agents.yaml',
        field: 'agents.kyc-bot.purposes[1]',
        message: expect.stringContaining('no policy in schema/policies.yaml covers role kyc with that purpose'),
      }),
    ]);
  });

  it('warns on a field whose answers only some requests bring to a refusal, at that field', async () => {
    // support-bot in SG reading EU health claims without the claims purpose: GDPR Art. 9 refuses what includes them.
    const { root, findings } = await lint({
      'schema/policies.yaml': (text) =>
        text.replace(
          '        fields: [id, customer_id, kind, currency, opened_on]\n        maxLimit: 50',
          '        fields: [id, customer_id, kind, currency, opened_on]\n        maxLimit: 50\n      health_claims:\n        access: rows\n        fields: [id, customer_id, diagnosis_code]',
        ),
      'masking-rules/health-claims.yaml': (text) =>
        `${text}\n  - columns: [health_claims.diagnosis_code]\n    roles: [support]\n    mask: partial\n    params: { keepFirst: 1, keepLast: 0 }\n`,
    });
    const refused = findings.filter((f) => f.message.includes('diagnosis_code'));
    expect(refused).toEqual([expect.objectContaining({ severity: 'warning', field: 'policies[0].tables.health_claims.fields[2]' })]);
    expect(refused[0]!.message).toContain('answers from health_claims that include diagnosis_code are refused to support-bot');
    expect(await lineText(root, refused[0]!)).toContain('diagnosis_code');
  });
});
