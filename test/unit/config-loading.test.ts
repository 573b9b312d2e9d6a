import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadProjectConfig } from '../../src/config/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { projectWith as projectCopy } from '../support/project.ts';

/** A copy of the shipped project with one schema file edited, so each test breaks exactly one thing. */
const projectWith = (file: string, edit: (text: string) => string) => projectCopy({ [`schema/${file}`]: edit });

async function loadError(root: string): Promise<ConfigError> {
  const error = await loadProjectConfig(root).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('project config', () => {
  it('loads the shipped catalog, agents and policies', async () => {
    const config = await loadProjectConfig(PROJECT_ROOT);
    expect([...config.catalog.tables.keys()]).toEqual(['customers', 'accounts', 'transactions', 'health_claims', 'employees']);
    expect([...config.registry.agents.keys()].sort()).toEqual(['analytics-bot', 'fraud-bot', 'kyc-bot', 'support-bot']);
    const transactions = config.catalog.tables.get('transactions')!;
    expect(transactions.subjectPath.map((hop) => hop.table)).toEqual(['accounts', 'customers']);
    expect(transactions.jurisdiction).toEqual({ table: 'customers', column: 'residency' });
  });

  it('names file, line and field of an unknown tag (fail closed)', async () => {
    const root = await projectWith('catalog.yaml', (text) =>
      text.replace('email: { type: text, tags: [pii.email] }', 'email: { type: text, tags: [pii.emial] }'),
    );
    const error = await loadError(root);
    const issue = error.issues[0]!;
    expect(issue.file).toBe('schema/catalog.yaml');
    expect(issue.field).toBe('tables.customers.columns.email.tags[0]');
    expect(issue.message).toMatch(/^unknown tag "pii.emial" \(expected one of: .*; did you mean "pii.email"\?\); declare it under tags: first$/);
    const text = await readFile(join(root, 'schema', 'catalog.yaml'), 'utf8');
    expect(text.split('\n')[issue.line - 1]).toContain('pii.emial');
  });

  it('says what was expected for a wrongly typed field, at its line', async () => {
    const root = await projectWith('policies.yaml', (text) => text.replace('maxLimit: 200', 'maxLimit: lots'));
    const error = await loadError(root);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.field).toMatch(/^policies\[1\]\.tables\.\w+\.maxLimit$/);
    expect(error.issues[0]!.message).toMatch(/expected number/i);
    const text = await readFile(join(root, 'schema', 'policies.yaml'), 'utf8');
    expect(text.split('\n')[error.issues[0]!.line - 1]).toContain('maxLimit: lots');
  });

  it('reports every problem at once, not just the first', async () => {
    const root = await projectWith('agents.yaml', (text) =>
      text.replace('role: support', 'role: helpdesk').replace('purposes: [analytics]\n    location', 'purposes: [marketing]\n    location'),
    );
    const error = await loadError(root);
    expect(error.issues.map((i) => i.message)).toEqual(
      expect.arrayContaining([
        'unknown role "helpdesk" (expected one of: support, fraud, analytics, kyc)',
        'unknown purpose "marketing" (expected one of: customer_service, fraud_detection, analytics, kyc_verification, payroll_analytics, claims)',
      ]),
    );
  });

  it('rejects YAML syntax errors with a line number', async () => {
    const root = await projectWith('catalog.yaml', (text) => text.replace('dataset: demo-bank', 'dataset: [demo-bank'));
    const error = await loadError(root);
    expect(error.issues[0]!.line).toBeGreaterThan(0);
    expect(error.message).toContain('catalog.yaml:');
  });

  it('refuses a policy field that does not exist in the catalog', async () => {
    const root = await projectWith('policies.yaml', (text) =>
      text.replace('fields: [id, customer_id, kind, currency, opened_on]', 'fields: [id, customer_id, kind, currency, opened_on, pin]'),
    );
    const error = await loadError(root);
    expect(error.issues[0]!.message).toMatch(
      /^unknown column "accounts.pin" \(expected one of: accounts.id, accounts.customer_id, .*; did you mean "accounts.id"\?\)$/,
    );
  });
});
