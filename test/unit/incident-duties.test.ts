import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { notificationDuties } from '../../src/agent-controls/incidents/index.ts';
import { type JurisdictionRules, loadJurisdictionRules } from '../../src/compliance/index.ts';

const ROOT = join(import.meta.dirname, '../..');
const OPENED = new Date('2026-03-02T09:30:00Z');
const hoursLater = (hours: number) => new Date(OPENED.getTime() + hours * 3_600_000).toISOString();

describe('breach-notification duties from the shipped jurisdiction rule sets', () => {
  let rules: JurisdictionRules;
  beforeAll(async () => {
    rules = await loadJurisdictionRules(join(ROOT, 'schema', 'jurisdictions'));
  });

  it('gives each touched jurisdiction its law, deadline and what is due, in jurisdiction order', () => {
    const touched = ['US-CA', 'JP', 'EU-FR', 'CN', 'AU', 'SG', 'IN'].map((jurisdiction, i) => ({ jurisdiction, subjects: i + 1 }));
    const { duties, ungoverned } = notificationDuties(rules, touched, { start: OPENED, from: 'incident' });
    expect(ungoverned).toEqual([]);
    expect(duties.map((d) => [d.jurisdiction, d.ruleSet.short, d.subjects, d.authority.deadline, d.authority.due])).toEqual([
      ['AU', 'Privacy Act (APPs)', 5, hoursLater(720), 'assessment of whether the suspected breach is an eligible data breach'],
      ['CN', 'PIPL', 4, null, 'notification of the authority'],
      ['EU-FR', 'GDPR', 3, hoursLater(72), 'notification of the authority'],
      ['IN', 'DPDP', 7, hoursLater(72), 'detailed report'],
      ['JP', 'APPI', 2, hoursLater(720), 'final report (60 days when the breach was caused by a wrongful act)'],
      ['SG', 'PDPA', 6, hoursLater(72), 'notification of the authority'],
      ['US-CA', 'CCPA/CPRA', 1, null, 'notification of the authority'],
    ]);
    const of = (code: string) => duties.find((d) => d.jurisdiction === code)!;
    expect(of('EU-FR').authority.counted).toBe("72 h from the incident's opening, taken as the moment of awareness (earlier if the breach was known before)");
    expect(of('SG').authority.counted).toBe(
      "72 h from assessing the breach notifiable, counted as if assessed at the incident's opening (the earliest it can fall)",
    );
    expect(of('JP').authority.counted).toContain('30 days from');
    expect(of('CN').authority).toMatchObject({ window: 'immediately, with remedial measures', rule: 'PIPL Art. 57 para. 1', counted: null });
    expect(of('US-CA').individuals).toEqual({
      window: 'in the most expedient time possible and without unreasonable delay',
      rule: 'Cal. Civ. Code 1798.82(a)',
    });
  });

  it('counts from the window start without an incident, and names jurisdictions no rule set governs', () => {
    const { duties, ungoverned } = notificationDuties(
      rules,
      [
        { jurisdiction: 'EU-DE', subjects: 2 },
        { jurisdiction: 'BR', subjects: 1 },
        { jurisdiction: null, subjects: 4 },
      ],
      { start: OPENED, from: 'window' },
    );
    expect(duties.map((d) => [d.jurisdiction, d.authority.deadline])).toEqual([['EU-DE', hoursLater(72)]]);
    expect(duties[0]!.authority.counted).toContain('from the start of the report window');
    expect(ungoverned).toEqual(['BR']);
  });
});
