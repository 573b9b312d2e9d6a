import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig, type TagClass } from '../../src/config/index.ts';
import {
  checkCrossBorderTransfer,
  checkGovernmentIdentifiers,
  checkPurposeLimitation,
  checkSpecialCategories,
  checkTransferVolumes,
  type ComplianceAgent,
  denialCode,
  type ComplianceRequest,
  describeFields,
  isClearFor,
  isTransfer,
  type JurisdictionRules,
  loadJurisdictionRules,
  type RequestField,
  runComplianceChecks,
  withheldJurisdictions,
} from '../../src/compliance/index.ts';

let rules: JurisdictionRules;
beforeAll(async () => {
  rules = await loadJurisdictionRules(join(import.meta.dirname, '../../schema/jurisdictions'));
});

function field(table: string, name: string, tags: string[], classes: TagClass[], mask = 'clear'): RequestField {
  return { table, field: name, mask, tags, classes };
}
const EMAIL = field('customers', 'email', ['pii.email'], ['personal'], 'email_domain');
const NATIONAL_ID = field('customers', 'national_id', ['pii.national_id'], ['personal']);
const DIAGNOSIS = field('health_claims', 'diagnosis_code', ['special.health'], ['special']);
const AMOUNT = field('transactions', 'amount', ['financial'], ['financial']);
const NOTE = field('transactions', 'note', ['untrusted_text'], ['untrusted']);
const SEGMENT = field('customers', 'segment', ['public'], ['public']);

function agent(location: string, transferBases: Record<string, string[]> = {}): ComplianceAgent {
  return { id: `${location.toLowerCase()}-bot`, location, transferBases };
}

function request(overrides: Partial<ComplianceRequest> & Pick<ComplianceRequest, 'agent' | 'subjectJurisdictions'>): ComplianceRequest {
  return { purpose: 'customer_service', access: 'rows', fields: [EMAIL], ...overrides };
}

describe('cross-border transfer', () => {
  it('allows an SG agent to read EU-DE customers under SCCs, flagged for a transfer impact assessment', () => {
    const result = checkCrossBorderTransfer(
      request({ agent: agent('SG', { 'EU-DE': ['standard_contractual_clauses'] }), subjectJurisdictions: ['EU-DE'] }),
      rules,
    );
    expect(result.outcome).toBe('flag');
    expect(result.findings).toEqual([
      expect.objectContaining({
        check: 'cross_border_transfer',
        jurisdiction: 'EU-DE',
        outcome: 'flag',
        rule: expect.stringMatching(/^GDPR Art\. 46\(2\)\(c\)/),
      }),
    ]);
    expect(result.findings[0]?.message).toMatch(/standard_contractual_clauses.*transfer impact assessment/);
  });

  it('denies the same read without a basis, and says a listed basis the GDPR does not know is ignored', () => {
    const none = checkCrossBorderTransfer(request({ agent: agent('SG'), subjectJurisdictions: ['EU-DE'] }), rules);
    expect(none).toEqual({ outcome: 'deny', findings: [expect.objectContaining({ outcome: 'deny', rule: 'GDPR Art. 44' })] });
    const wrong = checkCrossBorderTransfer(request({ agent: agent('SG', { 'EU-DE': ['consent'] }), subjectJurisdictions: ['EU-DE'] }), rules);
    expect(wrong.outcome).toBe('deny');
    expect(wrong.findings[0]?.message).toContain('not a GDPR basis here: consent');
  });

  it('treats EU-DE → EU-FR as intra-EU, not a transfer', () => {
    expect(checkCrossBorderTransfer(request({ agent: agent('EU-DE'), subjectJurisdictions: ['EU-FR', 'EU-DE'] }), rules)).toEqual({
      outcome: 'allow',
      findings: [],
    });
  });

  it('lets a free-flow area span more than the rule set governs', () => {
    const gdpr = rules.byJurisdiction.get('EU-DE')!;
    const germanOnly = { ...gdpr, jurisdictions: ['EU-DE'], freeFlowArea: undefined };
    expect(isTransfer(germanOnly, 'EU-DE', 'EU-FR')).toBe(true);
    expect(isTransfer({ ...germanOnly, freeFlowArea: ['EU-DE', 'EU-FR'] }, 'EU-DE', 'EU-FR')).toBe(false);
    expect(isTransfer(gdpr, 'EU-DE', 'SG')).toBe(true);
  });

  it('applies adequacy automatically only towards the adequate destination', () => {
    const toJapan = checkCrossBorderTransfer(request({ agent: agent('JP'), subjectJurisdictions: ['EU-FR'] }), rules);
    expect(toJapan.findings).toEqual([expect.objectContaining({ outcome: 'allow', rule: expect.stringContaining('GDPR Art. 45') })]);
    const toCalifornia = checkCrossBorderTransfer(request({ agent: agent('US-CA'), subjectJurisdictions: ['EU-FR'] }), rules);
    expect(toCalifornia.outcome).toBe('deny');
    const withDpf = checkCrossBorderTransfer(
      request({ agent: agent('US-CA', { 'EU-FR': ['data_privacy_framework'] }), subjectJurisdictions: ['EU-FR'] }),
      rules,
    );
    expect(withDpf.outcome).toBe('allow');
    // The DPF is a US instrument: listing it for an agent in Singapore does not make the transfer lawful.
    const dpfInSingapore = checkCrossBorderTransfer(
      request({ agent: agent('SG', { 'EU-FR': ['data_privacy_framework'] }), subjectJurisdictions: ['EU-FR'] }),
      rules,
    );
    expect(dpfInSingapore.outcome).toBe('deny');
  });

  it('judges each subject jurisdiction by its own law', () => {
    const fraudBot = agent('EU-DE', { SG: ['contract'], JP: ['adequacy'], IN: ['contract'] });
    const result = checkCrossBorderTransfer(request({ agent: fraudBot, fields: [AMOUNT], subjectJurisdictions: ['SG', 'JP', 'IN', 'AU'] }), rules);
    const by = (code: string) => result.findings.filter((finding) => finding.jurisdiction === code);
    expect(by('SG')).toEqual([expect.objectContaining({ outcome: 'allow', rule: expect.stringContaining('PDPA s.26(1)') })]);
    expect(by('JP')).toEqual([expect.objectContaining({ outcome: 'allow', rule: expect.stringContaining('APPI Art. 28(1)') })]);
    // India allows the transfer but RBI's payment-data localisation flags financial fields.
    expect(by('IN').map((f) => f.outcome)).toEqual(['allow', 'flag']);
    expect(by('IN')[1]?.rule).toContain('RBI');
    expect(by('AU')).toEqual([expect.objectContaining({ outcome: 'deny', rule: 'APP 8.1' })]);
    expect(result.outcome).toBe('deny');
  });

  it('ignores requests that return no personal data, and DP aggregates treated as anonymous', () => {
    expect(checkCrossBorderTransfer(request({ agent: agent('US-CA'), fields: [SEGMENT], subjectJurisdictions: ['EU-DE'] }), rules).findings).toEqual([]);
    expect(checkCrossBorderTransfer(request({ agent: agent('US-CA'), access: 'aggregate', subjectJurisdictions: ['EU-DE', 'CN'] }), rules).findings).toEqual(
      [],
    );
  });
});

describe('withheldJurisdictions', () => {
  it('withholds CN subjects from a US-CA agent with no PIPL basis, and only those', () => {
    expect(withheldJurisdictions(agent('US-CA'), rules, ['personal'])).toEqual(['CN']);
  });

  it('withholds nothing once a PIPL mechanism is in place, inside China, or for non-personal data', () => {
    expect(withheldJurisdictions(agent('US-CA', { CN: ['cac_standard_contract'] }), rules, ['personal'])).toEqual([]);
    expect(withheldJurisdictions(agent('CN'), rules, ['personal', 'special'])).toEqual([]);
    expect(withheldJurisdictions(agent('US-CA'), rules, ['public'])).toEqual([]);
  });

  it('turns into a denial when withheld rows were returned anyway', () => {
    const result = checkCrossBorderTransfer(request({ agent: agent('US-CA'), subjectJurisdictions: ['CN'] }), rules);
    expect(result.findings).toEqual([
      expect.objectContaining({ jurisdiction: 'CN', outcome: 'deny', rule: 'PIPL Art. 38', message: expect.stringContaining('withheld') }),
    ]);
  });
});

describe('special categories', () => {
  it('denies EU health data for analytics rows and allows it for claims, citing the Art. 9(2) condition', () => {
    const analytics = checkSpecialCategories(
      request({ agent: agent('EU-DE'), purpose: 'analytics', fields: [DIAGNOSIS], subjectJurisdictions: ['EU-DE'] }),
      rules,
    );
    expect(analytics).toEqual({ outcome: 'deny', findings: [expect.objectContaining({ check: 'special_category', rule: 'GDPR Art. 9(1)' })] });
    expect(analytics.findings[0]?.message).toContain('requires explicit consent');
    const claims = checkSpecialCategories(request({ agent: agent('EU-DE'), purpose: 'claims', fields: [DIAGNOSIS], subjectJurisdictions: ['EU-DE'] }), rules);
    expect(claims).toEqual({
      outcome: 'allow',
      findings: [expect.objectContaining({ outcome: 'allow', rule: expect.stringMatching(/^GDPR Art\. 9\(2\)\(a\)/) })],
    });
  });

  it('refuses with COMPLIANCE_DENIED, not TRANSFER_DENIED, when a special-category rule denies', () => {
    const health = checkSpecialCategories(
      request({ agent: agent('EU-DE'), purpose: 'analytics', fields: [DIAGNOSIS], subjectJurisdictions: ['EU-DE'] }),
      rules,
    );
    const transfer = checkCrossBorderTransfer(request({ agent: agent('SG'), subjectJurisdictions: ['EU-DE'] }), rules);
    expect(transfer.outcome).toBe('deny');
    expect(denialCode(transfer.findings)).toBe('TRANSFER_DENIED');
    expect(denialCode(health.findings)).toBe('COMPLIANCE_DENIED');
    expect(denialCode([...transfer.findings, ...health.findings])).toBe('COMPLIANCE_DENIED');
  });

  it('follows each law: PDPA and CPRA flag, PIPL and the APPs deny', () => {
    const outcomeFor = (code: string) =>
      checkSpecialCategories(request({ agent: agent(code), purpose: 'analytics', fields: [DIAGNOSIS], subjectJurisdictions: [code] }), rules).outcome;
    expect(['SG', 'US-CA', 'CN', 'AU', 'JP'].map(outcomeFor)).toEqual(['flag', 'flag', 'deny', 'deny', 'deny']);
  });

  it('treats financial data as sensitive in China only for purposes with a condition', () => {
    const fraud = checkSpecialCategories(request({ agent: agent('CN'), purpose: 'fraud_detection', fields: [AMOUNT], subjectJurisdictions: ['CN'] }), rules);
    expect(fraud.outcome).toBe('allow');
    const analytics = checkSpecialCategories(request({ agent: agent('CN'), purpose: 'analytics', fields: [AMOUNT], subjectJurisdictions: ['CN'] }), rules);
    expect(analytics.outcome).toBe('deny');
    expect(
      checkSpecialCategories(request({ agent: agent('EU-DE'), purpose: 'analytics', fields: [AMOUNT], subjectJurisdictions: ['EU-DE'] }), rules).findings,
    ).toEqual([]);
  });
});

describe('government identifiers', () => {
  it('denies a Singapore NRIC requested unmasked outside KYC and allows it for KYC', () => {
    const service = checkGovernmentIdentifiers(request({ agent: agent('SG'), fields: [NATIONAL_ID], subjectJurisdictions: ['SG'] }), rules);
    expect(service).toEqual({
      outcome: 'deny',
      findings: [expect.objectContaining({ check: 'government_identifier', rule: expect.stringContaining('NRIC') })],
    });
    expect(service.findings[0]?.message).toContain('returned unmasked');
    const kyc = checkGovernmentIdentifiers(
      request({ agent: agent('SG'), purpose: 'kyc_verification', fields: [NATIONAL_ID], subjectJurisdictions: ['SG'] }),
      rules,
    );
    expect(kyc.outcome).toBe('allow');
    expect(kyc.findings[0]?.rule).toContain('MAS Notice 626');
  });

  it('lets a masked NRIC through, judging the mask recorded for each jurisdiction', () => {
    const partial = { ...NATIONAL_ID, mask: 'SG:partial,clear' };
    const result = checkGovernmentIdentifiers(request({ agent: agent('SG'), fields: [partial], subjectJurisdictions: ['SG', 'EU-DE'] }), rules);
    // SG sees a partial NRIC (fine); EU-DE subjects' tax IDs go out in clear (Abgabenordnung § 139b).
    expect(result.findings).toEqual([expect.objectContaining({ jurisdiction: 'EU-DE', outcome: 'deny', rule: expect.stringContaining('§ 139b') })]);
  });

  it('denies adopting an Australian TFN as a lookup key (APP 9.1), even for KYC, and its clear use (APP 9.2)', () => {
    const masked = { ...NATIONAL_ID, mask: 'hash' };
    const lookup = checkGovernmentIdentifiers(
      request({ agent: agent('AU'), purpose: 'kyc_verification', fields: [EMAIL], lookupFields: [masked], subjectJurisdictions: ['AU'] }),
      rules,
    );
    expect(lookup.findings).toEqual([expect.objectContaining({ outcome: 'deny', rule: 'APP 9.1', message: expect.stringContaining('adopted') })]);
    const clear = checkGovernmentIdentifiers(
      request({ agent: agent('AU'), purpose: 'kyc_verification', fields: [NATIONAL_ID], subjectJurisdictions: ['AU'] }),
      rules,
    );
    expect(clear.findings).toEqual([expect.objectContaining({ outcome: 'deny', rule: expect.stringContaining('APP 9.2') })]);
    expect(checkGovernmentIdentifiers(request({ agent: agent('AU'), fields: [masked], subjectJurisdictions: ['AU'] }), rules).findings).toEqual([]);
  });
});

describe('purpose limitation', () => {
  it('denies a purpose not notified to the subjects', () => {
    const result = checkPurposeLimitation(request({ agent: agent('SG'), purpose: 'marketing', subjectJurisdictions: ['SG'] }), rules);
    expect(result).toEqual({ outcome: 'deny', findings: [expect.objectContaining({ check: 'purpose_limitation', rule: 'PDPA s.18' })] });
  });

  it('flags fields beyond the data notified for the purpose (minimisation)', () => {
    const result = checkPurposeLimitation(request({ agent: agent('EU-DE'), fields: [EMAIL, NOTE, SEGMENT], subjectJurisdictions: ['EU-FR'] }), rules);
    expect(result).toEqual({
      outcome: 'flag',
      findings: [expect.objectContaining({ rule: 'GDPR Art. 5(1)(c)', message: expect.stringContaining('transactions.note') })],
    });
    expect(result.findings[0]?.message).not.toContain('customers.email');
    expect(checkPurposeLimitation(request({ agent: agent('EU-DE'), fields: [EMAIL, SEGMENT], subjectJurisdictions: ['EU-FR'] }), rules).findings).toEqual([]);
  });
});

describe('PIPL transfer volumes (2024 Provisions)', () => {
  const volumeCheck = (bases: string[], personal: number, sensitive: number, fields = [EMAIL]) =>
    checkTransferVolumes(
      request({
        agent: agent('US-CA', { CN: bases }),
        purpose: 'claims',
        fields,
        subjectJurisdictions: ['CN'],
        transferVolumes: { CN: { personal, sensitive } },
      }),
      rules,
    );

  it('needs no mechanism below 100,000 subjects and one from 100,000', () => {
    expect(volumeCheck([], 99_999, 0)).toEqual({ outcome: 'allow', findings: [] });
    const at = volumeCheck([], 100_000, 0);
    expect(at.outcome).toBe('deny');
    expect(at.findings[0]?.rule).toBe('PIPL Art. 38(1); 2024 Provisions Art. 8(1)');
    expect(volumeCheck(['cac_standard_contract'], 100_000, 0).outcome).toBe('allow');
    expect(volumeCheck(['pi_protection_certification'], 999_999, 0).outcome).toBe('allow');
  });

  it('requires a CAC security assessment from 1,000,000 subjects', () => {
    const contract = volumeCheck(['cac_standard_contract'], 1_000_000, 0);
    expect(contract.outcome).toBe('deny');
    expect(contract.findings[0]?.rule).toBe('PIPL Art. 40; 2024 Provisions Art. 7(2)');
    expect(volumeCheck(['cac_security_assessment'], 1_000_000, 0).outcome).toBe('allow');
  });

  it('requires a mechanism for any sensitive PI and a security assessment from 10,000 subjects', () => {
    expect(volumeCheck([], 0, 1, [DIAGNOSIS]).findings[0]).toMatchObject({ outcome: 'deny', rule: 'PIPL Art. 38(1); 2024 Provisions Art. 8(2)' });
    expect(volumeCheck(['cac_standard_contract'], 0, 9_999, [DIAGNOSIS]).outcome).toBe('allow');
    expect(volumeCheck(['cac_standard_contract'], 0, 10_000, [DIAGNOSIS]).findings[0]).toMatchObject({
      outcome: 'deny',
      rule: 'PIPL Art. 40; 2024 Provisions Art. 7(2)',
    });
    expect(volumeCheck(['cac_security_assessment'], 0, 10_000, [DIAGNOSIS]).outcome).toBe('allow');
  });

  it('counts sensitive and non-sensitive volumes against the fields actually returned', () => {
    // A request with only sensitive fields is judged on the sensitive count, however large the other is.
    expect(volumeCheck(['cac_standard_contract'], 5_000_000, 10, [DIAGNOSIS]).outcome).toBe('allow');
    expect(volumeCheck(['cac_standard_contract'], 10, 50_000, [EMAIL]).outcome).toBe('allow');
    expect(volumeCheck(['cac_standard_contract'], 10, 50_000, [EMAIL, DIAGNOSIS]).outcome).toBe('deny');
  });

  it('flags a transfer whose yearly volume was not supplied, and ignores transfers inside China', () => {
    const unknown = checkTransferVolumes(request({ agent: agent('US-CA', { CN: ['cac_standard_contract'] }), subjectJurisdictions: ['CN'] }), rules);
    expect(unknown).toEqual({ outcome: 'flag', findings: [expect.objectContaining({ check: 'transfer_volume', jurisdiction: 'CN' })] });
    expect(checkTransferVolumes(request({ agent: agent('CN'), subjectJurisdictions: ['CN'] }), rules).findings).toEqual([]);
  });
});

describe('runComplianceChecks', () => {
  it('combines every check and takes the most severe outcome', () => {
    const supportBot = agent('SG', { 'EU-DE': ['standard_contractual_clauses'] });
    const flagged = runComplianceChecks(request({ agent: supportBot, subjectJurisdictions: ['SG', 'EU-DE'] }), rules);
    expect(flagged.outcome).toBe('flag');
    expect(flagged.findings.map((f) => `${f.check}:${f.jurisdiction}:${f.outcome}`)).toEqual(['cross_border_transfer:EU-DE:flag']);
    const denied = runComplianceChecks(request({ agent: supportBot, fields: [EMAIL, NATIONAL_ID], subjectJurisdictions: ['SG', 'EU-DE'] }), rules);
    expect(denied.outcome).toBe('deny');
    expect(denied.findings.map((f) => `${f.check}:${f.jurisdiction}:${f.outcome}`).sort()).toEqual([
      'cross_border_transfer:EU-DE:flag',
      'government_identifier:EU-DE:deny',
      'government_identifier:SG:deny',
    ]);
  });

  it('flags subjects of a jurisdiction no rule set governs', () => {
    const result = runComplianceChecks(request({ agent: agent('SG'), subjectJurisdictions: ['BR'] }), rules);
    expect(result).toEqual({ outcome: 'flag', findings: [expect.objectContaining({ check: 'rule_coverage', jurisdiction: 'BR' })] });
  });
});

describe('describeFields', () => {
  it('adds catalog tags and classes to audited field accesses', async () => {
    const { catalog } = await loadProjectConfig(join(import.meta.dirname, '../..'));
    const fields = describeFields(catalog, [
      { table: 'health_claims', field: 'claim_amount', mask: 'clear' },
      { table: 'nowhere', field: 'x', mask: 'clear' },
    ]);
    expect(fields[0]).toEqual({
      table: 'health_claims',
      field: 'claim_amount',
      mask: 'clear',
      tags: ['financial', 'special.health'],
      classes: ['financial', 'special'],
    });
    expect(fields[1]).toMatchObject({ tags: [], classes: [] });
  });
});

describe('isClearFor', () => {
  it('reads plain and per-jurisdiction masks', () => {
    expect(isClearFor('clear', 'SG')).toBe(true);
    expect(isClearFor('partial', 'SG')).toBe(false);
    expect(isClearFor('SG:partial,clear', 'SG')).toBe(false);
    expect(isClearFor('SG:partial,clear', 'EU-DE')).toBe(true);
    expect(isClearFor('EU-DE:clear,hash', 'EU-DE')).toBe(true);
    expect(isClearFor('EU-DE:clear,hash', 'EU-FR')).toBe(false);
    expect(isClearFor('EU-DE:clear', 'SG')).toBe(false);
  });
});
