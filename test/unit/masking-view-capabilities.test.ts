import { beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig, type ProjectConfig, YamlSource } from '../../src/config/index.ts';
import { buildMaskingRules, createExposureDecider, createMaskingKeys, loadMaskingRules, maskedEqualityCondition } from '../../src/masking/index.ts';
import { buildView, type FieldCapabilities, rowSelection, type View } from '../../src/policy/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

const keys = createMaskingKeys(new Uint8Array(32).fill(5), 'mk-capabilities');
let config: ProjectConfig;
beforeAll(async () => {
  config = await loadProjectConfig(PROJECT_ROOT);
});

function viewWith(agentId: string, purpose: string, rules: string | null): Promise<View> | View {
  const agent = config.registry.agents.get(agentId)!;
  const build = (set: Parameters<typeof createExposureDecider>[0]) => buildView(config, agent, purpose, createExposureDecider(set, keys), 'test');
  if (rules === null) return loadMaskingRules(PROJECT_ROOT, config, keys).then(build);
  return build(buildMaskingRules([new YamlSource('masking-rules/t.yaml', rules)], config, keys));
}

function capabilitiesOf(view: View, table: string): Record<string, FieldCapabilities> {
  const fields = [...view.tables.get(table)!.fields];
  return Object.fromEntries(fields.map(([name, { filter, orderable, groupable, measurable }]) => [name, { filter, orderable, groupable, measurable }]));
}

const CLEAR_TEXT = { filter: 'all', orderable: true, groupable: true, measurable: false };
const MASKED = { orderable: false, groupable: false, measurable: false };

describe('what each field of a view can do', () => {
  it("decides support-bot's from its masks: e-mail, phone and postal code are masked without a token, so they filter by nothing", async () => {
    const view = await viewWith('support-bot', 'customer_service', null);
    expect(capabilitiesOf(view, 'customers')).toEqual({
      id: { filter: 'all', orderable: true, groupable: false, measurable: false },
      full_name: CLEAR_TEXT,
      email: { filter: 'none', ...MASKED },
      phone: { filter: 'none', ...MASKED },
      postal_code: { filter: 'none', ...MASKED },
      city: CLEAR_TEXT,
      residency: CLEAR_TEXT,
      segment: CLEAR_TEXT,
      created_at: { filter: 'all', orderable: true, groupable: false, measurable: false },
    });
  });

  it('lets fraud-bot filter its pseudonymised customer ids by equality only', async () => {
    const view = await viewWith('fraud-bot', 'fraud_detection', null);
    expect(capabilitiesOf(view, 'accounts').customer_id).toEqual({ filter: 'equality', ...MASKED });
  });

  it('keeps what DP aggregates offered: group by clear text, measure bounded columns', async () => {
    const view = await viewWith('analytics-bot', 'analytics', null);
    const can = (table: string, what: 'groupable' | 'measurable') =>
      Object.entries(capabilitiesOf(view, table))
        .filter(([, c]) => c[what])
        .map(([name]) => name);
    expect(can('customers', 'groupable')).toEqual(['gender', 'city', 'residency', 'segment']);
    expect(can('transactions', 'groupable')).toEqual(['merchant_category']);
    expect(can('transactions', 'measurable')).toEqual(['amount']);
    expect(can('accounts', 'measurable')).toEqual(['balance']);
  });

  it('offers equality only when every mask of the field keeps it; rows shown nothing match no value', () => {
    const view = viewWith(
      'support-bot',
      'customer_service',
      [
        'rules:',
        // A token for SG, the value itself elsewhere: both answer eq/in.
        '  - columns: [customers.email]',
        '    subjectJurisdictions: [SG]',
        '    mask: pseudonymize',
        '  - columns: [customers.email]',
        '    mask: clear',
        // A token for SG, a partial mask elsewhere: eq on a partial mask would test guesses of the hidden part.
        '  - columns: [customers.phone]',
        '    subjectJurisdictions: [SG]',
        '    mask: pseudonymize',
        '  - columns: [customers.phone]',
        '    mask: phone',
        // A token for SG, withheld elsewhere (no rule: fail closed) and hidden for CN.
        '  - columns: [customers.full_name]',
        '    subjectJurisdictions: [SG]',
        '    mask: tokenize_preserving_format',
        '  - columns: [customers.full_name]',
        '    subjectJurisdictions: [CN]',
        '    mask: hide',
        '',
      ].join('\n'),
    ) as View;
    const can = capabilitiesOf(view, 'customers');
    expect(can.email).toEqual({ filter: 'equality', ...MASKED });
    expect(can.phone).toEqual({ filter: 'none', ...MASKED });
    expect(can.full_name).toEqual({ filter: 'equality', ...MASKED });
  });
});

describe('the where-walker behind the schema', () => {
  const refusalOf = (view: View, table: string, where: Record<string, unknown>) => {
    try {
      rowSelection(view, view.tables.get(table)!, where, { maskedEquality: maskedEqualityCondition });
    } catch (error) {
      const { message, extensions } = error as { message: string; extensions: { code: string } };
      return { code: extensions.code, message };
    }
    return undefined;
  };

  it('still refuses what the schema does not offer, naming a token only for a mask that shows one', async () => {
    const fraud = await viewWith('fraud-bot', 'fraud_detection', null);
    expect(refusalOf(fraud, 'accounts', { customer_id: { lt: 'cus_m' } })).toEqual({
      code: 'MASKED_FIELD_FILTER',
      message: 'Field "customer_id" is masked in this view; only eq/in on the token it shows can filter it.',
    });
    expect(refusalOf(fraud, 'accounts', { customer_id: { eq: 'cus_x' } })).toBeUndefined();
    const support = await viewWith('support-bot', 'customer_service', null);
    for (const filter of [{ lt: 'm' }, { eq: 'someone@example.com' }, { in: ['a@b.c'] }]) {
      expect(refusalOf(support, 'customers', { or: [{ city: { eq: 'x' } }, { email: filter }] })).toEqual({
        code: 'MASKED_FIELD_FILTER',
        message: 'Field "email" is masked in this view and cannot be used to filter.',
      });
    }
  });
});
