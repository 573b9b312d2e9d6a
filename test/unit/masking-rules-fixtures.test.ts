import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadProjectConfig, type ProjectConfig, YamlSource } from '../../src/config/index.ts';
import { loadMaskingRules, type MaskingRuleSet } from '../../src/masking/index.ts';
import { explainView, formatExplanation } from '../../src/masking/rules/explain.ts';
import { fixtureKeys, readFixtureSources, runFixtures } from '../../src/masking/rules/fixtures.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

const keys = fixtureKeys();
let config: ProjectConfig;
let demo: MaskingRuleSet;
beforeAll(async () => {
  config = await loadProjectConfig(PROJECT_ROOT);
  demo = await loadMaskingRules(PROJECT_ROOT, config, keys);
});

const fixture = (text: string) => new YamlSource('masking-rules/tests/t.yaml', text);

describe('the fixtures runner', () => {
  it('passes every shipped fixture against the demo rules', async () => {
    const cases = runFixtures(await readFixtureSources(PROJECT_ROOT), config, demo, keys);
    expect(cases.length).toBeGreaterThanOrEqual(8);
    expect(cases.filter((c) => c.failures.length > 0)).toEqual([]);
  });

  it('fails a case whose expectation is wrong, saying which field and why', () => {
    const [result] = runFixtures(
      [
        fixture(`tests:
  - name: wrong phone
    request: { agent: support-bot, table: customers }
    row: { phone: '+49 151 2345678', city: Berlin, national_id: X1, residency: EU-DE }
    result:
      row: { phone: '+49 *** ***5678', national_id: X1, residency: EU-DE }
`),
      ],
      config,
      demo,
      keys,
    );
    expect(result!.line).toBe(2);
    expect(result!.failures).toEqual([
      'phone: expected "+49 *** ***5678", got "+49 *** *****78"',
      'city: the fixture says neither its value nor that it is hidden',
      'national_id: expected "X1", but the field is hidden in this view',
    ]);
  });

  it('refuses a fixture naming an unknown agent or column, with its line', () => {
    const run = () =>
      runFixtures([fixture('tests:\n  - name: x\n    request: { agent: nobody, table: customers }\n    row: {}\n    result: {}\n')], config, demo, keys);
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      expect((error as ConfigError).issues[0]).toMatchObject({ line: 3, field: 'tests[0].request.agent', message: 'unknown agent "nobody"' });
    }
  });
});

describe('rules explain', () => {
  it("explains support-bot's phone per subject jurisdiction, naming the rules it beat", () => {
    const agent = config.registry.agents.get('support-bot')!;
    const explanation = explainView(config, demo, agent, 'customer_service', 'customers');
    const phone = explanation.tables[0]!.fields.find((f) => f.field === 'phone')!;
    expect(phone.status).toBe('masked');
    expect(phone.decisions.map((d) => [d.jurisdictions, d.rule])).toEqual([
      [['EU-DE', 'EU-FR'], 'masking-rules/customers.yaml:32'],
      [undefined, 'masking-rules/customers.yaml:26'],
    ]);
    expect(phone.decisions[0]!.why).toMatch(/beats masking-rules\/customers.yaml:26 .*masking-rules\/customers.yaml:10/);
    const text = formatExplanation(explanation);
    expect(text).toMatch(/national_id\s+hidden\s+not listed in the support\/customer_service policy/);
    expect(text).toMatch(/full_name\s+clear\s+by masking-rules\/customers.yaml:16/);
  });
});
