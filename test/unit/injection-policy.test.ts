import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { untrustedFieldsOf } from '../../src/agent-controls/injection/index.ts';
import { ConfigError, loadProjectConfig, policyKey } from '../../src/config/index.ts';
import { buildView } from '../../src/policy/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { projectWith } from '../support/project.ts';

const clear = () => ({ kind: 'clear', rule: undefined }) as const;

describe('the untrustedText policy setting', () => {
  it('is flag for the shipped fraud policy, and flag for a policy that says nothing (never off)', async () => {
    const config = await loadProjectConfig(PROJECT_ROOT);
    expect(config.policies.byRolePurpose.get(policyKey('fraud', 'fraud_detection'))!.untrustedText).toEqual({ action: 'flag' });
    expect(config.policies.byRolePurpose.get(policyKey('support', 'customer_service'))!.untrustedText).toEqual({ action: 'flag' });
  });

  it('is carried into the view, whose untrusted fields are its row fields and group keys tagged untrusted_text', async () => {
    const root = await projectWith({
      'schema/policies.yaml': (text) =>
        text
          .replace('untrustedText: { action: flag }', 'untrustedText: { action: withhold }')
          .replace('fields: [amount, merchant_category, occurred_at]', 'fields: [amount, merchant_category, occurred_at, note]'),
    });
    const config = await loadProjectConfig(root);
    const fraud = config.registry.agents.get('fraud-bot')!;
    const view = buildView(config, fraud, 'fraud_detection', clear, 'test');
    expect(view.untrustedText).toEqual({ action: 'withhold' });
    expect(untrustedFieldsOf(view)).toEqual(new Map([['Transaction', new Map([['note', 'transactions.note']])]]));
    // analytics-bot reads transactions, note included here, as aggregates only: a note leaves only as a group key.
    const analytics = buildView(config, config.registry.agents.get('analytics-bot')!, 'analytics', clear, 'test');
    expect(untrustedFieldsOf(analytics)).toEqual(new Map([['TransactionGroupKey', new Map([['note', 'transactions.note']])]]));
  });

  it('refuses an action it does not know, naming file, line and field', async () => {
    const root = await projectWith({ 'schema/policies.yaml': (text) => text.replace('untrustedText: { action: flag }', 'untrustedText: { action: off }') });
    const error = (await loadProjectConfig(root).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.field).toMatch(/^policies\[\d+\]\.untrustedText\.action$/);
    const text = await readFile(join(root, 'schema', 'policies.yaml'), 'utf8');
    expect(text.split('\n')[error.issues[0]!.line - 1]).toContain('untrustedText: { action: off }');
  });
});
