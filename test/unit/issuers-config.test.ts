import { describe, expect, it } from 'vitest';
import { ConfigError, loadProjectConfig, trustedIssuersFrom } from '../../src/config/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';

const ISSUER = 'https://sso.bank.example/realms/bank';

/** The issues a file (or KEYHOLE_ISSUERS) with this text is refused with, as `file:line: field: message`. */
function issuesOf(text: string | null, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    trustedIssuersFrom(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('trusted issuers (schema/issuers.yaml, KEYHOLE_ISSUERS)', () => {
  it('fills in the defaults and takes the audience from the resource identifier', () => {
    const issuers = trustedIssuersFrom(`resource: https://keyhole.bank.example\nissuers:\n  - issuer: ${ISSUER}\n`, {});
    expect(issuers.resource).toBe('https://keyhole.bank.example');
    expect(issuers.byIssuer.get(ISSUER)).toMatchObject({
      audience: 'https://keyhole.bank.example',
      algorithms: ['ES256', 'RS256'],
      agentClaim: 'client_id',
      purpose: { claim: 'scope', prefix: 'purpose:' },
      maxLifetime: 3600,
      clockSkew: 60,
    });
  });

  it('never accepts `none` or an HMAC algorithm, naming the line, the field and the choices', () => {
    const text = `resource: https://keyhole.bank.example\nissuers:\n  - issuer: ${ISSUER}\n    algorithms: [ES256, none, HS256]\n`;
    const issues = issuesOf(text);
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^schema\/issuers\.yaml:4: issuers\[0\]\.algorithms\[1\]: .*"EdDSA"\|"ES256"\|"RS256"\|"PS256"/);
    expect(issues[1]).toMatch(/^schema\/issuers\.yaml:4: issuers\[0\]\.algorithms\[2\]: /);
  });

  it('refuses an issuer without an audience, and a plain-http issuer off localhost', () => {
    expect(issuesOf(`issuers:\n  - issuer: ${ISSUER}\n`)).toEqual([
      expect.stringMatching(/^schema\/issuers\.yaml:2: issuers\[0\]\.audience: no audience: set `resource:`/),
    ]);
    expect(issuesOf('resource: https://k.example\nissuers:\n  - issuer: http://sso.bank.example\n')).toEqual([
      expect.stringContaining('issuers[0].issuer: expected an https:// URL (http:// only for localhost)'),
    ]);
  });

  it('reads KEYHOLE_ISSUERS before the file, with KEYHOLE_RESOURCE as the audience, and locates its issues too', () => {
    const env = { KEYHOLE_RESOURCE: 'https://keyhole.bank.example', KEYHOLE_ISSUERS: JSON.stringify({ issuers: [{ issuer: ISSUER, agentClaim: 'azp' }] }) };
    const issuers = trustedIssuersFrom('issuers: []\n', env);
    expect(issuers.byIssuer.get(ISSUER)).toMatchObject({ audience: 'https://keyhole.bank.example', agentClaim: 'azp' });
    expect(issuesOf(null, { ...env, KEYHOLE_ISSUERS: JSON.stringify({ issuers: [{ issuer: ISSUER, agentClaim: 'appid' }] }) })).toEqual([
      expect.stringMatching(/^KEYHOLE_ISSUERS:1: issuers\[0\]\.agentClaim: /),
    ]);
  });

  it('trusts no issuer with the shipped project files', async () => {
    expect((await loadProjectConfig(PROJECT_ROOT, {})).registry.issuers.byIssuer.size).toBe(0);
  });
});
