import type { JurisdictionRules } from '../../compliance/index.ts';

/** Distinct data subjects of one jurisdiction (null: their table records none) whose data the agent received. */
export interface SubjectsInJurisdiction {
  jurisdiction: string | null;
  subjects: number;
}

/** Where deadlines are counted from: the incident's opening, or the start of the window when there is no incident. */
export interface DutyClock {
  start: Date;
  from: 'incident' | 'window';
}

/** What one jurisdiction's rule set says about notifying a breach that touched its data subjects. */
export interface NotificationDuty {
  jurisdiction: string;
  subjects: number;
  ruleSet: { id: string; short: string; law: string };
  authority: {
    window: string;
    rule: string;
    /** What is due by `deadline`: the notification itself unless the rule set names another step. */
    due: string;
    /** The clock's start plus the law's hours; null when the law sets none ("immediately", "most expedient time"). */
    deadline: string | null;
    /** How `deadline` was counted, for the reader to check against the facts. */
    counted: string | null;
  };
  individuals: { window: string; rule: string };
}

const HOUR_MS = 3_600_000;

function duration(hours: number): string {
  return hours > 72 && hours % 24 === 0 ? `${hours / 24} days` : `${hours} h`;
}

function countedFrom(hours: number, hoursFrom: 'awareness' | 'assessment' | undefined, clock: DutyClock): string {
  const start = clock.from === 'incident' ? "the incident's opening" : 'the start of the report window';
  return hoursFrom === 'assessment'
    ? `${duration(hours)} from assessing the breach notifiable, counted as if assessed at ${start} (the earliest it can fall)`
    : `${duration(hours)} from ${start}, taken as the moment of awareness (earlier if the breach was known before)`;
}

/**
 * The breach-notification duties that may apply, one per jurisdiction whose subjects the agent received data
 * about, from that jurisdiction's rule set; and the jurisdictions no rule set governs (someone must look at them).
 * Whether a duty applies (risk, harm, thresholds) is for counsel: this lists the candidates and their clocks.
 */
export function notificationDuties(
  rules: JurisdictionRules,
  touched: readonly SubjectsInJurisdiction[],
  clock: DutyClock,
): { duties: NotificationDuty[]; ungoverned: string[] } {
  const duties: NotificationDuty[] = [];
  const ungoverned: string[] = [];
  for (const { jurisdiction, subjects } of [...touched].sort((a, b) => (a.jurisdiction ?? '').localeCompare(b.jurisdiction ?? ''))) {
    if (jurisdiction === null) continue;
    const set = rules.byJurisdiction.get(jurisdiction);
    if (!set) {
      ungoverned.push(jurisdiction);
      continue;
    }
    const { authority, individuals } = set.breachNotification;
    duties.push({
      jurisdiction,
      subjects,
      ruleSet: { id: set.id, short: set.short, law: set.law },
      authority: {
        window: authority.window,
        rule: authority.rule,
        due: authority.hoursFor ?? 'notification of the authority',
        deadline: authority.hours === undefined ? null : new Date(clock.start.getTime() + authority.hours * HOUR_MS).toISOString(),
        counted: authority.hours === undefined ? null : countedFrom(authority.hours, authority.hoursFrom, clock),
      },
      individuals: { window: individuals.window, rule: individuals.rule },
    });
  }
  return { duties, ungoverned };
}
