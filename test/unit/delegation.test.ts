import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, auditRecordHash } from '../../src/audit/index.ts';
import { personClaims } from '../../src/cli/person-claims.ts';
import { type AgentRegistry, ConfigError, type DelegationPolicy, loadProjectConfig } from '../../src/config/index.ts';
import { issueToken, loadTokenKeys, type TokenKeys, verifyToken } from '../../src/identity/index.ts';
import { delegationKey, delegationRefusal, fieldsHiddenFor, namedClaims } from '../../src/policy/index.ts';
import { PROJECT_ROOT } from '../support/broker.ts';
import { refusalCode } from '../support/identity.ts';
import { projectWith } from '../support/project.ts';

describe('a delegated token (RFC 8693: sub the person, act.sub the agent)', () => {
  let dataDir: string;
  let keys: TokenKeys;
  let registry: AgentRegistry;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyhole-delegation-'));
    keys = await loadTokenKeys(dataDir, {});
    registry = (await loadProjectConfig(PROJECT_ROOT)).registry;
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const now = () => Math.floor(Date.now() / 1000);
  const signed = (claims: Record<string, unknown>) =>
    new SignJWT({ kh_kind: 'agent', purpose: 'customer_service', iss: 'keyhole', aud: 'keyhole-broker', jti: 'j-1', iat: now(), exp: now() + 600, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.signing!.kid })
      .sign(keys.signing!.key);

  it('is minted with the person as sub, the agent as act.sub and the person’s claims, and verifies to the agent acting for the person', async () => {
    const token = await issueToken({
      keys,
      registry,
      subject: 'support-bot',
      onBehalfOf: { id: 'ada', claims: personClaims(['regions=EU-DE,EU-FR', 'role=clerk']) },
    });
    expect(decodeJwt(token)).toMatchObject({
      sub: 'ada',
      act: { sub: 'support-bot' },
      regions: ['EU-DE', 'EU-FR'],
      role: 'clerk',
      purpose: 'customer_service',
    });
    const principal = await verifyToken(token, keys, registry);
    expect(principal).toMatchObject({ kind: 'agent', id: 'support-bot', onBehalfOf: { id: 'ada', claims: { regions: ['EU-DE', 'EU-FR'], role: 'clerk' } } });
    expect(await verifyToken(await issueToken({ keys, registry, subject: 'support-bot' }), keys, registry)).not.toHaveProperty('onBehalfOf');
  });

  it("never takes the token's own claims, or values that are not scalars or lists of them, for the person's", async () => {
    const principal = await verifyToken(
      await signed({ sub: 'ada', act: { sub: 'support-bot', act: { sub: 'gateway' } }, cnf: { jkt: 'x' }, org: { unit: 'x' }, desk: 'EU' }),
      keys,
      registry,
    );
    expect(principal.kind === 'agent' && principal.onBehalfOf).toEqual({ id: 'ada', claims: { desk: 'EU' } });
    await expect(issueToken({ keys, registry, subject: 'support-bot', onBehalfOf: { id: 'ada', claims: { purpose: 'x' } } })).rejects.toThrow(/reserved/);
    await expect(issueToken({ keys, registry, subject: 'dpo', onBehalfOf: { id: 'ada' } })).rejects.toThrow(/only an agent/);
  });

  it('refuses an act naming no actor, an officer acting for someone, and an unregistered actor', async () => {
    expect(await refusalCode(verifyToken(await signed({ sub: 'ada', act: { client: 'support-bot' } }), keys, registry))).toBe('TOKEN_INVALID');
    expect(await refusalCode(verifyToken(await signed({ sub: 'ada', act: 'support-bot' }), keys, registry))).toBe('TOKEN_INVALID');
    expect(await refusalCode(verifyToken(await signed({ sub: 'ada', kh_kind: 'officer', act: { sub: 'dpo' } }), keys, registry))).toBe('TOKEN_INVALID');
    expect(await refusalCode(verifyToken(await signed({ sub: 'ada', act: { sub: 'ghost-bot' } }), keys, registry))).toBe('UNKNOWN_AGENT');
  });

  it('parses --claim pairs: a comma makes a list, a key given twice or without = is refused', () => {
    expect(personClaims(['role=clerk', 'regions=EU-DE,EU-FR', 'note=a=b'])).toEqual({ role: 'clerk', regions: ['EU-DE', 'EU-FR'], note: 'a=b' });
    expect(() => personClaims(['role=a', 'role=b'])).toThrow(/given twice/);
    expect(() => personClaims(['role'])).toThrow(/expected key=value/);
  });
});

describe("what a policy's delegation section decides", () => {
  const delegation: DelegationPolicy = {
    required: false,
    subjectJurisdiction: { in: { session: 'person.regions' } },
    rowFilter: new Map(),
    hide: [{ when: { role: 'trainee' }, fields: [{ table: 'customers', field: 'phone' }] }],
    claims: ['regions', 'role'],
    requiredClaims: ['regions'],
    namesPersonId: false,
  };
  const policy = {
    role: 'support',
    purpose: 'customer_service',
    tables: new Map(),
    requestCaps: { rows: 1, subjects: 1 },
    untrustedText: { action: 'flag' as const },
    delegation,
  };

  it('hides a field when the claim matches, and when the claim its rule needs is missing (fail closed)', () => {
    expect(fieldsHiddenFor(delegation, { role: 'trainee' })).toEqual(new Set(['customers.phone']));
    expect(fieldsHiddenFor(delegation, { role: ['clerk', 'trainee'] })).toEqual(new Set(['customers.phone']));
    expect(fieldsHiddenFor(delegation, {})).toEqual(new Set(['customers.phone']));
    expect(fieldsHiddenFor(delegation, { role: 'clerk' })).toEqual(new Set());
  });

  it('keeps only the claims the policy names, and keys views by their values, not by who the person is', () => {
    const ada = { id: 'ada', claims: { regions: ['EU-DE'], role: 'clerk', salary_band: 'C' } };
    expect(namedClaims(delegation, ada)).toEqual({ regions: ['EU-DE'], role: 'clerk' });
    expect(delegationKey(delegation, ada)).toBe(delegationKey(delegation, { ...ada, id: 'ann' }));
    expect(delegationKey(delegation, ada)).not.toBe(delegationKey(delegation, { ...ada, claims: { regions: ['SG'], role: 'clerk' } }));
    expect(delegationKey({ ...delegation, namesPersonId: true }, ada)).not.toBe(delegationKey({ ...delegation, namesPersonId: true }, { ...ada, id: 'ann' }));
  });

  it('refuses a token naming no person where delegation is required, and one lacking a claim a filter needs', () => {
    expect(delegationRefusal(policy, undefined)).toBeNull();
    expect(delegationRefusal({ ...policy, delegation: { ...delegation, required: true } }, undefined)?.code).toBe('DELEGATION_REQUIRED');
    expect(delegationRefusal(policy, { id: 'max', claims: { role: 'clerk' } })).toMatchObject({
      code: 'DELEGATION_CLAIM_MISSING',
      message: expect.stringContaining('"regions"'),
    });
    expect(delegationRefusal(policy, { id: 'ada', claims: { regions: ['EU-DE'] } })).toBeNull();
  });
});

describe('the delegation section of schema/policies.yaml', () => {
  async function issuesOf(edit: (text: string) => string) {
    const root = await projectWith({ 'schema/policies.yaml': edit });
    const error = await loadProjectConfig(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (await readFile(join(root, 'schema', 'policies.yaml'), 'utf8')).split('\n');
    return (error as ConfigError).issues.map((issue) => ({ ...issue, text: lines[issue.line - 1] }));
  }

  it('names file, line and field of a hidden field the policy does not list, and of a filter on a table it does not read', async () => {
    const issues = await issuesOf((text) =>
      text
        .replace('fields: [customers.phone]', 'fields: [customers.national_id]')
        .replace(
          '      subjectJurisdiction: { in: { session: person.regions } }\n',
          '      subjectJurisdiction: { in: { session: person.regions } }\n      rowFilter:\n        employees: { department: { eq: { session: person.department } } }\n',
        ),
    );
    expect(issues).toEqual([
      expect.objectContaining({
        file: 'schema/policies.yaml',
        field: 'policies[0].delegation.rowFilter.employees',
        text: expect.stringContaining('employees:'),
      }),
      expect.objectContaining({
        field: 'policies[0].delegation.hide[0].fields[0]',
        message: expect.stringMatching(/^unknown field of this policy \(table.field\) "customers.national_id"/),
        text: expect.stringContaining('customers.national_id'),
      }),
    ]);
  });

  it("refuses a person's claim in a filter outside a delegation section, where no person exists", async () => {
    const issues = await issuesOf((text) =>
      text.replace('subjectJurisdiction: { in: { session: agent.serves } }', 'subjectJurisdiction: { in: { session: person.regions } }'),
    );
    expect(issues[0]).toMatchObject({ field: 'policies[0].subjectJurisdiction.in', message: expect.stringContaining('under delegation') });
  });
});

describe('the audit record of an agent acting for a person', () => {
  const key = new Uint8Array(32).fill(7);
  const record: Omit<AuditRecord, 'hash'> = {
    seq: 7,
    recordedAt: new Date('2026-01-02T03:04:05.000Z'),
    requestId: 'r-7',
    actorKind: 'agent',
    actorId: 'support-bot',
    purpose: 'customer_service',
    actorLocation: 'SG',
    operationKind: 'query',
    operationName: null,
    operationHash: null,
    decision: 'allowed',
    code: null,
    reason: null,
    tables: ['customers'],
    fields: [],
    rowCount: 2,
    subjectCount: 0,
    subjectsDigest: 'd',
    jurisdictions: [],
    privacyCost: null,
    findings: [],
    details: {},
    prevHash: 'genesis',
  };

  it('hashes a record naming no person exactly as records were hashed before delegation existed, and one naming a person otherwise', () => {
    // Computed with src/audit/record.ts as it was before the on_behalf_of column (commit 628eaa0).
    const before = '1897c979be221f2644fcbe5ed132a0012ab58eba11be2e0a4b92e280e5ce158a';
    expect(auditRecordHash(key, record)).toBe(before);
    expect(auditRecordHash(key, { ...record, onBehalfOf: null })).toBe(before);
    expect(auditRecordHash(key, { ...record, onBehalfOf: 'ada' })).not.toBe(before);
    expect(auditRecordHash(key, { ...record, onBehalfOf: 'ada' })).not.toBe(auditRecordHash(key, { ...record, onBehalfOf: 'tom' }));
  });
});
