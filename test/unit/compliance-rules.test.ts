import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.ts';
import { loadJurisdictionRules } from '../../src/compliance/index.ts';

const SHIPPED = join(import.meta.dirname, '../../schema/jurisdictions');

/** A minimal valid rule set; `extra` lines are appended at the end (line numbers of the base are fixed). */
function ruleSet(id: string, jurisdictions: string, extra = ''): string {
  return `id: ${id}
law: A Test Law
short: TL
reviewed: '2026-11'
jurisdictions: [${jurisdictions}]
transfers:
  rule: TL s.1
  withoutBasis: { outcome: deny, rule: TL s.1 }
aggregates: { anonymous: true, rule: TL s.2 }
purposeLimitation:
  rule: TL s.3
  minimisationRule: TL s.4
  purposes: { customer_service: [personal] }
retention:
  accessRecords: { days: 365, basis: law, rule: TL s.5 }
breachNotification:
  authority: { window: 72 hours, rule: TL s.6 }
  individuals: { window: promptly, rule: TL s.7 }
${extra}`;
}

async function issuesOf(dir: string) {
  const error = await loadJurisdictionRules(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

describe('the shipped jurisdiction rule sets', () => {
  it('load without error and govern every demo jurisdiction exactly once', async () => {
    const rules = await loadJurisdictionRules(SHIPPED);
    expect([...rules.byJurisdiction.keys()].sort()).toEqual(['AU', 'CN', 'EU-DE', 'EU-FR', 'IN', 'JP', 'SG', 'US-CA']);
    expect(rules.byJurisdiction.get('EU-DE')).toBe(rules.byJurisdiction.get('EU-FR'));
    expect(rules.sets.map((set) => set.id).sort()).toEqual(['app', 'appi', 'ccpa', 'dpdp', 'gdpr', 'pdpa_sg', 'pipl']);
  });

  it('each say they are not legal advice and when they were last reviewed', async () => {
    const rules = await loadJurisdictionRules(SHIPPED);
    for (const set of rules.sets) {
      const text = await readFile(set.file, 'utf8');
      expect(text, set.file).toMatch(/^# .*\n(#.*\n)*# NOT LEGAL ADVICE\./);
      expect(text, set.file).toContain('Last reviewed: 2026-11');
      expect(set.reviewed).toBe('2026-11');
    }
  });

  it('carry the key figures counsel asked for', async () => {
    const rules = await loadJurisdictionRules(SHIPPED);
    const of = (code: string) => rules.byJurisdiction.get(code)!;
    expect(of('EU-DE').breachNotification.authority).toMatchObject({ hours: 72, rule: 'GDPR Art. 33(1)' });
    expect(of('SG').breachNotification.authority.hours).toBe(72);
    expect(of('IN').retention.accessRecords).toMatchObject({ days: 365, basis: 'law' });
    expect(of('EU-DE').retention.accessRecords.basis).toBe('organisational');
    expect(of('EU-DE').transfers.bases.adequacy?.destinations).toEqual(['JP']);
    expect(of('EU-DE').transfers.bases.data_privacy_framework?.destinations).toEqual(['US-CA']);
    expect(of('CN').transferVolumes.map((t) => [t.dataClass, t.atLeast])).toEqual([
      ['personal', 1_000_000],
      ['personal', 100_000],
      ['sensitive', 10_000],
      ['sensitive', 1],
    ]);
  });
});

describe('loadJurisdictionRules on broken files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyhole-rules-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a minimal valid rule set', async () => {
    await writeFile(join(dir, 'tl.yaml'), ruleSet('tl', 'SG'));
    const rules = await loadJurisdictionRules(dir);
    expect(rules.byJurisdiction.get('SG')?.id).toBe('tl');
  });

  it('names the file, line and field of a bad value', async () => {
    const text = ruleSet('tl', 'SG').replace('withoutBasis: { outcome: deny', 'withoutBasis: { outcome: maybe');
    await writeFile(join(dir, 'tl.yaml'), text);
    const issues = await issuesOf(dir);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: join(dir, 'tl.yaml'), line: 8, field: 'transfers.withoutBasis.outcome' });
  });

  it('names a missing field and an unknown one', async () => {
    const text = ruleSet('tl', 'SG').replace("reviewed: '2026-11'\n", '').replace('  rule: TL s.3\n', '  rule: TL s.3\n  purpose: x\n');
    await writeFile(join(dir, 'tl.yaml'), text);
    const issues = await issuesOf(dir);
    expect(issues.map((issue) => issue.field).sort()).toEqual(['purposeLimitation', 'reviewed']);
    expect(issues.find((issue) => issue.field === 'purposeLimitation')?.message).toMatch(/purpose/);
  });

  it('reports every problem in every file at once: syntax, references and a jurisdiction claimed twice', async () => {
    await writeFile(join(dir, 'a.yaml'), ruleSet('a', 'SG, EU-DE'));
    await writeFile(join(dir, 'b.yaml'), ruleSet('b', 'EU-DE', 'transferVolumes:\n  - { dataClass: personal, atLeast: 10, requires: [nope], rule: TL s.9 }\n'));
    await writeFile(join(dir, 'c.yaml'), 'id: c\nlaw: [unclosed\n');
    const issues = await issuesOf(dir);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: join(dir, 'b.yaml'), line: 5, field: 'jurisdictions[0]', message: expect.stringContaining('a.yaml') }),
        expect.objectContaining({ file: join(dir, 'b.yaml'), line: 20, field: 'transferVolumes[0].requires[0]' }),
        expect.objectContaining({ file: join(dir, 'c.yaml') }),
      ]),
    );
    expect(issues).toHaveLength(3);
  });

  it('rejects an identifier restricted to a jurisdiction the rule set does not govern', async () => {
    const extra =
      'governmentIdentifiers:\n  - name: NRIC\n    tags: [pii.national_id]\n    jurisdictions: [JP]\n    lookup: { rule: TL s.8, otherwise: deny }\n';
    await writeFile(join(dir, 'tl.yaml'), ruleSet('tl', 'SG', extra));
    const issues = await issuesOf(dir);
    expect(issues).toEqual([expect.objectContaining({ line: 22, field: 'governmentIdentifiers[0].jurisdictions[0]' })]);
  });

  it('reports an empty or missing directory', async () => {
    expect((await issuesOf(dir))[0]?.message).toMatch(/no jurisdiction rule sets/);
    expect((await issuesOf(join(dir, 'missing')))[0]?.message).toMatch(/cannot read/);
  });
});
