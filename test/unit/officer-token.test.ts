import { describe, expect, it } from 'vitest';
import { byIsGone, presentedOfficerToken, withOfficerTokenArgument } from '../../src/cli/officer-token.ts';

describe('the officer token of a CLI decision', () => {
  const env = { KEYHOLE_OFFICER_TOKEN: ' eyJ.officer.token \n' };

  it('comes from --token first, else from KEYHOLE_OFFICER_TOKEN, and is required', () => {
    expect(presentedOfficerToken('approvals approve', 'from-option', env)).toBe('from-option');
    expect(presentedOfficerToken('approvals approve', undefined, env)).toBe('eyJ.officer.token');
    expect(() => presentedOfficerToken('approvals deny', undefined, {})).toThrow(/approvals deny is decided by a privacy officer: pass --token/);
    expect(byIsGone('approvals deny').exitCode).toBe(1);
  });

  it('travels as --token when a running broker runs the decision, since its environment lacks it', () => {
    expect(withOfficerTokenArgument(['approvals', 'approve', '3'], env)).toEqual(['approvals', 'approve', '3', '--token', 'eyJ.officer.token']);
    expect(withOfficerTokenArgument(['approvals', 'deny', '3', '--token', 'mine'], env)).toEqual(['approvals', 'deny', '3', '--token', 'mine']);
    expect(withOfficerTokenArgument(['approvals', 'list'], env)).toEqual(['approvals', 'list']);
    expect(withOfficerTokenArgument(['audit', 'verify'], env)).toEqual(['audit', 'verify']);
    expect(withOfficerTokenArgument(['approvals', 'approve', '3'], {})).toEqual(['approvals', 'approve', '3']);
  });

  it('hands a --dpop-key file over by its absolute path, since the running broker reads it from its own directory', () => {
    expect(withOfficerTokenArgument(['approvals', 'approve', '3', '--dpop-key', 'keys/dpo.jwk'], {}, '/home/dpo')).toEqual([
      'approvals',
      'approve',
      '3',
      '--dpop-key',
      '/home/dpo/keys/dpo.jwk',
    ]);
    expect(withOfficerTokenArgument(['approvals', 'deny', '3', '--dpop-key', '/etc/dpo.jwk'], {}, '/home/dpo')).toContain('/etc/dpo.jwk');
  });
});
