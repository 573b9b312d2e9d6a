import { z } from 'zod';
import type { ConfigIssue, YamlSource } from './yaml-source.ts';

/** Security zones, strictest first: of two zones, the one listed earlier never allows more than the later one. */
export const ZONE_NAMES = ['sandbox', 'production'] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

export const zoneName = z.enum(ZONE_NAMES);

/** What an agent in a zone may receive, on top of what its policies allow: a zone only ever takes away. */
export interface ZoneRules {
  name: ZoneName;
  /** False: personal, special and identifier fields are shown masked or not at all, never as they are. */
  clearPersonalFields: boolean;
  /** False: no homomorphically encrypted aggregates (the encrypted tables leave the view). */
  encryptedAggregates: boolean;
  /** The largest page of any table, and the rows and data subjects of one request; undefined: the policy's. */
  maxLimit: number | undefined;
  /** Caps on the agent's declared DP budget: ε per query and per budget period; undefined: as declared. */
  maxEpsilonPerQuery: number | undefined;
  maxEpsilonPerPeriod: number | undefined;
  /** True: every agent served in this zone must send DPoP-bound tokens with their proofs (RFC 9449). */
  requireDpop: boolean;
}

type ZoneAllowance = Omit<ZoneRules, 'name'>;

/**
 * What a zone allows when the file leaves a setting out. A sandbox that says nothing is as strict as this, not as
 * open as production (fail closed): masked data only, no encrypted aggregates, small pages and tiny budgets.
 */
export const ZONE_DEFAULTS: Readonly<Record<ZoneName, ZoneAllowance>> = {
  sandbox: { clearPersonalFields: false, encryptedAggregates: false, maxLimit: 10, maxEpsilonPerQuery: 0.1, maxEpsilonPerPeriod: 1, requireDpop: false },
  production: {
    clearPersonalFields: true,
    encryptedAggregates: true,
    maxLimit: undefined,
    maxEpsilonPerQuery: undefined,
    maxEpsilonPerPeriod: undefined,
    requireDpop: false,
  },
};

const zoneAllowanceSchema = z.strictObject({
  clearPersonalFields: z.boolean().optional(),
  encryptedAggregates: z.boolean().optional(),
  maxLimit: z.number().int().min(1).max(10_000).optional(),
  maxEpsilonPerQuery: z.number().positive().optional(),
  maxEpsilonPerPeriod: z.number().positive().optional(),
  requireDpop: z.boolean().optional(),
});

export const zonesSchema = z.strictObject({ sandbox: zoneAllowanceSchema.optional(), production: zoneAllowanceSchema.optional() }).prefault({});

const FLAGS = ['clearPersonalFields', 'encryptedAggregates'] as const;
const CAPS = ['maxLimit', 'maxEpsilonPerQuery', 'maxEpsilonPerPeriod'] as const;

/** The zones of agents.yaml with defaults filled in; a stricter zone that allows more than a looser one is an issue. */
export function buildZones(source: YamlSource, file: z.output<typeof zonesSchema>): { zones: Record<ZoneName, ZoneRules>; issues: ConfigIssue[] } {
  const zones = Object.fromEntries(ZONE_NAMES.map((name) => [name, { name, ...ZONE_DEFAULTS[name], ...file[name] }])) as Record<ZoneName, ZoneRules>;
  const issues: ConfigIssue[] = [];
  ZONE_NAMES.slice(1).forEach((looser, i) => {
    const stricter = ZONE_NAMES[i]!;
    const [s, l] = [zones[stricter], zones[looser]];
    const wider = [
      ...FLAGS.filter((key) => s[key] && !l[key]),
      ...CAPS.filter((key) => (s[key] ?? Number.POSITIVE_INFINITY) > (l[key] ?? Number.POSITIVE_INFINITY)),
    ];
    for (const key of wider)
      issues.push(source.issue(['zones', stricter, key], `${stricter} may not allow more than ${looser} (${key}: ${String(l[key])} there)`));
  });
  return { zones, issues };
}

/** The stricter of two zones. */
export function stricterZone(a: ZoneName, b: ZoneName): ZoneName {
  return ZONE_NAMES.indexOf(a) <= ZONE_NAMES.indexOf(b) ? a : b;
}
