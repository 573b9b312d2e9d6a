import { z } from 'zod';
import { TAG_CLASSES } from '../config/index.ts';

/** What a check concludes: go ahead, go ahead but tell an officer, or refuse. */
export const OUTCOMES = ['allow', 'flag', 'deny'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const jurisdiction = z.string().regex(/^[A-Z]{2}(-[A-Z]{2})?$/, 'expected a jurisdiction code such as SG or EU-DE');
const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a lower-case name (a-z, 0-9, _)');
const citation = z.string().min(3, 'cite the article or section this rule rests on');
const outcome = z.enum(OUTCOMES);

/**
 * A decision keyed by the request's purpose: the purposes listed are allowed (each with the legal condition
 * relied on, cited), every other purpose gets `otherwise`.
 */
const purposeGate = z.strictObject({
  rule: citation,
  purposes: z.record(name, citation).default({}),
  otherwise: outcome,
});

const transferBasis = z.strictObject({
  rule: citation,
  outcome: z.enum(['allow', 'flag']),
  /** Destinations the basis is valid for (e.g. an adequacy decision); absent = any destination. */
  destinations: z.array(jurisdiction).optional(),
  /** Holds by law without the operator listing it for the agent (adequacy, no transfer restriction). */
  automatic: z.boolean().default(false),
  note: z.string().optional(),
});

export const ruleSetSchema = z.strictObject({
  id: name,
  law: z.string().min(3),
  short: z.string().min(2),
  reviewed: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'expected YYYY-MM or YYYY-MM-DD'),
  jurisdictions: z.array(jurisdiction).min(1),
  /** Jurisdictions between which personal data flows freely (e.g. the EEA); default: `jurisdictions`. */
  freeFlowArea: z.array(jurisdiction).min(1).optional(),
  transfers: z.strictObject({
    rule: citation,
    bases: z.record(name, transferBasis).default({}),
    withoutBasis: z.strictObject({ outcome: z.enum(['allow', 'flag', 'deny', 'withhold']), rule: citation }),
    restrictedDestinations: z.strictObject({ destinations: z.array(jurisdiction), rule: citation }).optional(),
    /** Extra conditions on some data leaving the jurisdiction (sectoral localisation rules). */
    categoryConditions: z.array(z.strictObject({ tags: z.array(z.string()).min(1), outcome, rule: citation, message: z.string() })).default([]),
  }),
  aggregates: z.strictObject({ anonymous: z.boolean(), rule: citation }),
  sensitiveCategories: z
    .array(
      z.strictObject({
        category: name,
        tags: z.array(z.string()).min(1),
        requires: z.string().optional(),
        ...purposeGate.shape,
      }),
    )
    .default([]),
  governmentIdentifiers: z
    .array(
      z.strictObject({
        name: z.string().min(2),
        tags: z.array(z.string()).min(1),
        /** Only these of the rule set's jurisdictions (e.g. one EU member state's own number). */
        jurisdictions: z.array(jurisdiction).optional(),
        unmasked: purposeGate.optional(),
        masked: purposeGate.optional(),
        lookup: purposeGate.optional(),
      }),
    )
    .default([]),
  purposeLimitation: z.strictObject({
    rule: citation,
    minimisationRule: citation,
    /** Purposes notified to this jurisdiction's subjects, with the data classes each may use. */
    purposes: z.record(name, z.array(z.enum(TAG_CLASSES))),
  }),
  transferVolumes: z
    .array(
      z.strictObject({
        dataClass: z.enum(['personal', 'sensitive']),
        atLeast: z.number().int().min(1),
        requires: z.array(name).min(1),
        rule: citation,
      }),
    )
    .default([]),
  retention: z.strictObject({
    accessRecords: z.strictObject({
      days: z.number().int().min(1),
      basis: z.enum(['law', 'organisational']),
      rule: citation,
    }),
  }),
  breachNotification: z.strictObject({
    authority: z.strictObject({
      window: z.string(),
      /** The hard deadline, in hours, that an incident report counts down (absent when the law sets none). */
      hours: z.number().positive().optional(),
      /** When the hours start: on becoming aware of the breach (default), or on assessing it notifiable (PDPA s.26D). */
      hoursFrom: z.enum(['awareness', 'assessment']).optional(),
      /** What is due within the hours when it is not the notification itself (e.g. a final report, an assessment). */
      hoursFor: z.string().optional(),
      rule: citation,
    }),
    individuals: z.strictObject({ window: z.string(), rule: citation }),
  }),
});

export type RuleSetFile = z.output<typeof ruleSetSchema>;
export type PurposeGate = z.output<typeof purposeGate>;
export type TransferBasis = RuleSetFile['transfers']['bases'][string];
export type SensitiveCategory = RuleSetFile['sensitiveCategories'][number];
export type GovernmentIdentifier = RuleSetFile['governmentIdentifiers'][number];

/** One jurisdiction's rule set, as loaded, with the file it came from. */
export interface RuleSet extends RuleSetFile {
  file: string;
}
