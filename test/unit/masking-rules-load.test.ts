import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, loadProjectConfig, type ProjectConfig, YamlSource } from '../../src/config/index.ts';
import { buildMaskingRules, createExposureDecider, createMaskingKeys, type MaskingRuleSet } from '../../src/masking/index.ts';
import type { FieldExposure } from '../../src/policy/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

const keys = createMaskingKeys(new Uint8Array(32).fill(7), 'mk-test');
const SUPPORT = { role: 'support', purpose: 'customer_service', agentLocation: 'SG' };
let config: ProjectConfig;
beforeAll(async () => {
  config = await loadProjectConfig(PROJECT_ROOT);
});

function load(files: Record<string, string>): MaskingRuleSet {
  const sources = Object.entries(files).map(([name, text]) => new YamlSource(`masking-rules/${name}`, text));
  return buildMaskingRules(sources, config, keys);
}

function issuesOf(files: Record<string, string>): ConfigIssue[] {
  try {
    load(files);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the rules to be refused');
}

function exposure(set: MaskingRuleSet, table: string, column: string, scope = SUPPORT): FieldExposure {
  const t = config.catalog.tables.get(table)!;
  return createExposureDecider(set, keys)(t, t.columns.get(column)!, scope);
}

describe('loading masking rules', () => {
  it('reports every problem with file, line, field and what was expected', () => {
    const issues = issuesOf({
      'a.yaml': [
        'rules:',
        '  - columns: [customer.email]', // line 2: unknown table
        '    mask: email',
        '  - columns: [customers.mail]', // line 4: unknown column
        '    mask: email',
        '  - tags: [pii.emial]', // line 6: unknown tag
        '    mask: email',
        '  - columns: [customers.email]', // line 8
        '    mask: blur', // line 9: unknown function
        '  - columns: [customers.phone]', // line 10
        '    mask: phone',
        '    params: { keepLast: -1 }', // line 12: bad param
        '  - columns: [customers.birth_date]',
        '    mask: phone', // line 14: wrong column type
        '  - columns: [customers.city]',
        '    roles: [suport]', // line 16: unknown role
        '    mask: clear',
      ].join('\n'),
      'b.yaml': 'rules:\n  - mask: clear\n',
    });
    const at = (line: number) => issues.find((i) => i.file === 'masking-rules/a.yaml' && i.line === line);
    expect(at(2)).toMatchObject({ field: 'rules[0].columns[0]', message: expect.stringMatching(/unknown table "customer" \(expected one of: .*customers/) });
    expect(at(4)).toMatchObject({ field: 'rules[1].columns[0]', message: expect.stringMatching(/unknown column "customers.mail"/) });
    expect(at(6)).toMatchObject({ field: 'rules[2].tags[0]', message: expect.stringMatching(/unknown tag "pii.emial"/) });
    expect(at(9)).toMatchObject({
      field: 'rules[3].mask',
      message: expect.stringMatching(/unknown masking function "blur" \(expected one of: .*pseudonymize/),
    });
    expect(at(12)).toMatchObject({ field: 'rules[4].params.keepLast', message: expect.stringMatching(/keepLast/) });
    expect(at(14)).toMatchObject({ field: 'rules[5].mask', message: expect.stringMatching(/phone does not apply to customers.birth_date \(a date column\)/) });
    expect(at(16)).toMatchObject({ field: 'rules[6].roles[0]', message: expect.stringMatching(/unknown role "suport"/) });
    expect(issues.find((i) => i.file === 'masking-rules/b.yaml')).toMatchObject({
      line: 2,
      message: expect.stringMatching(/exactly one of columns: or tags:/),
    });
    expect(issues).toHaveLength(8);
  });

  it('refuses a YAML syntax error with its line', () => {
    expect(() => new YamlSource('masking-rules/x.yaml', 'rules:\n  - columns: [a\n')).toThrow(ConfigError);
  });
});

describe('specificity', () => {
  const base = [
    'rules:',
    '  - tags: [pii.phone]',
    '    mask: redact',
    '  - columns: [customers.phone]',
    '    mask: phone',
    '  - columns: [customers.phone]',
    '    roles: [support]',
    '    subjectJurisdictions: [EU-DE]',
    '    mask: phone',
    '    params: { keepLast: 2 }',
  ].join('\n');

  it('lets a named column beat a tag, and a scoped rule beat an unscoped one, per subject jurisdiction', () => {
    const e = exposure(load({ 'p.yaml': base }), 'customers', 'phone');
    expect(e.kind).toBe('masked');
    if (e.kind !== 'masked') return;
    expect(e.otherwise?.rule).toBe('masking-rules/p.yaml:4');
    expect(e.otherwise?.apply('+65 9123 4567')).toBe('+65 **** 4567');
    expect(e.byJurisdiction.get('EU-DE')?.rule).toBe('masking-rules/p.yaml:6');
    expect(e.byJurisdiction.get('EU-DE')?.apply('+49 151 2345678')).toBe('+49 *** *****78');
    expect([...e.byJurisdiction.keys()]).toEqual(['EU-DE']);
  });

  it('lets a tag rule decide the columns no more specific rule covers', () => {
    const set = load({
      'p.yaml': 'rules:\n  - tags: [pii.email]\n    mask: email\n    params: { domain: hide }\n  - columns: [customers.email]\n    mask: email\n',
    });
    const employees = exposure(set, 'employees', 'email');
    const customers = exposure(set, 'customers', 'email');
    expect(employees.kind === 'masked' && [employees.otherwise?.rule, employees.otherwise?.apply('ann@bank.example')]).toEqual([
      'masking-rules/p.yaml:2',
      'a***@***',
    ]);
    expect(customers.kind === 'masked' && [customers.otherwise?.rule, customers.otherwise?.apply('ann@bank.example')]).toEqual([
      'masking-rules/p.yaml:5',
      'a***@bank.example',
    ]);
  });

  it('reports two equally specific rules that disagree, naming both', () => {
    const issues = issuesOf({
      'one.yaml': 'rules:\n  - columns: [customers.phone]\n    roles: [support]\n    mask: phone\n',
      'two.yaml': 'rules:\n  - columns: [customers.phone]\n    purposes: [customer_service]\n    mask: redact\n',
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.file).toBe('masking-rules/one.yaml');
    expect(issues[0]!.line).toBe(2);
    expect(issues[0]!.message).toMatch(/conflicts with masking-rules\/two.yaml:2/);
    expect(issues[0]!.message).toMatch(/customers.phone for role support, purpose customer_service/);
  });

  it('accepts equally specific rules that agree, and a tie that a more specific rule always settles', () => {
    expect(() =>
      load({
        'a.yaml':
          'rules:\n  - columns: [customers.phone]\n    roles: [support]\n    mask: phone\n  - columns: [customers.phone]\n    purposes: [customer_service]\n    mask: phone\n',
      }),
    ).not.toThrow();
    const settled = load({
      'a.yaml': [
        'rules:',
        '  - columns: [customers.phone]',
        '    roles: [support]',
        '    mask: phone',
        '  - columns: [customers.phone]',
        '    purposes: [customer_service]',
        '    mask: redact',
        '  - columns: [customers.phone]',
        '    roles: [support]',
        '    purposes: [customer_service]',
        '    mask: nullify',
      ].join('\n'),
    });
    const e = exposure(settled, 'customers', 'phone');
    expect(e.kind === 'masked' && e.otherwise?.rule).toBe('masking-rules/a.yaml:8');
  });
});

describe('exposure decisions', () => {
  it('hides a sensitive field no rule covers, and shows non-sensitive fields without a rule', () => {
    const set = load({ 'a.yaml': 'rules:\n  - columns: [customers.email]\n    roles: [fraud]\n    mask: email\n' });
    expect(exposure(set, 'customers', 'email')).toMatchObject({ kind: 'hidden', reason: expect.stringMatching(/fail closed/) });
    expect(exposure(set, 'customers', 'national_id').kind).toBe('hidden');
    expect(exposure(set, 'customers', 'segment')).toEqual({ kind: 'clear', rule: undefined });
  });

  it('shows a sensitive field only through an explicit clear, naming the rule', () => {
    const set = load({ 'a.yaml': 'rules:\n  - tags: [pii.name]\n    roles: [support]\n    mask: clear\n' });
    expect(exposure(set, 'customers', 'full_name')).toEqual({ kind: 'clear', rule: 'masking-rules/a.yaml:2' });
  });

  it('withholds a sensitive field for subjects of jurisdictions no rule covers', () => {
    const set = load({ 'a.yaml': 'rules:\n  - columns: [customers.email]\n    subjectJurisdictions: [SG]\n    mask: email\n' });
    const e = exposure(set, 'customers', 'email');
    expect(e.kind).toBe('masked');
    if (e.kind !== 'masked') return;
    expect(e.otherwise).toBeNull();
    expect(e.byJurisdiction.get('SG')?.apply('ann@example.sg')).toBe('a***@example.sg');
  });

  it('hides a field everywhere a hide rule applies, and withholds it per row where it applies to some subjects', () => {
    const all = load({ 'a.yaml': 'rules:\n  - columns: [customers.segment]\n    mask: hide\n' });
    expect(exposure(all, 'customers', 'segment')).toEqual({ kind: 'hidden', reason: 'hidden by masking-rules/a.yaml:2' });
    const some = load({ 'a.yaml': 'rules:\n  - columns: [customers.segment]\n    subjectJurisdictions: [CN]\n    mask: hide\n' });
    const e = exposure(some, 'customers', 'segment');
    expect(e.kind === 'masked' && e.byJurisdiction.get('CN')?.apply('retail')).toBeNull();
    expect(e.kind === 'masked' && e.otherwise?.apply('retail')).toBe('retail');
  });

  it('changes version when a rule moves, even with the same content', () => {
    const a = load({ 'a.yaml': 'rules:\n  - columns: [customers.email]\n    mask: email\n' });
    const b = load({ 'a.yaml': '# a comment\nrules:\n  - columns: [customers.email]\n    mask: email\n' });
    expect(a.version).not.toBe(b.version);
    expect(a.version).toBe(load({ 'a.yaml': 'rules:\n  - columns: [customers.email]\n    mask: email\n' }).version);
  });

  it('warns (without refusing) when hash is used on a guessable field', () => {
    const set = load({ 'a.yaml': 'rules:\n  - columns: [customers.phone]\n    mask: hash\n' });
    expect(set.warnings).toHaveLength(1);
    expect(set.warnings[0]).toMatchObject({ line: 3, message: expect.stringMatching(/reversible/) });
  });
});
