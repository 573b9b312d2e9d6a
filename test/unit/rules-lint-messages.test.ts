import { describe, expect, it } from 'vitest';
import { closestChoice, editDistance, unknownChoice } from '../../src/config/choices.ts';
import { ConfigError, YamlSource } from '../../src/config/index.ts';
import { policiesFileSchema } from '../../src/config/policies.ts';

describe('valid choices and "did you mean"', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('suport', 'support')).toBe(1);
    expect(editDistance('fraud', 'fruad')).toBe(1);
    expect(editDistance('kyc', 'kyc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('analytics', 'analysis')).toBe(2);
  });

  it('suggests the nearest choice only when it is near enough to be a typo', () => {
    expect(closestChoice('suport', ['fraud', 'support'])).toBe('support');
    expect(closestChoice('Support', ['support'])).toBe('support');
    expect(closestChoice('marketing', ['support', 'fraud', 'analytics', 'kyc'])).toBeUndefined();
    expect(closestChoice('ab', ['xy'])).toBeUndefined();
  });

  it('lists the choices, and says none is declared when there are none', () => {
    expect(unknownChoice('role', 'suport', ['support', 'fraud'])).toBe('unknown role "suport" (expected one of: support, fraud; did you mean "support"?)');
    expect(unknownChoice('role', 'x', [])).toBe('unknown role "x" (none is declared)');
  });

  it('adds a "did you mean" to a misspelt enum value in any file, at its line', () => {
    const source = new YamlSource(
      'schema/policies.yaml',
      'policies:\n  - role: support\n    purposes: [customer_service]\n    tables:\n      customers: { access: row, fields: [id] }\n',
    );
    const error = (() => {
      try {
        source.parse(policiesFileSchema);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected the file to be refused');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([
      expect.objectContaining({
        file: 'schema/policies.yaml',
        line: 5,
        field: 'policies[0].tables.customers.access',
        message: expect.stringMatching(/"rows".*; did you mean "rows"\?$/),
      }),
    ]);
  });
});
