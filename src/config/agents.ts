import { z } from 'zod';
import { unknownChoice } from './choices.ts';
import type { TrustedIssuers } from './issuers.ts';
import { ConfigError, type YamlSource } from './yaml-source.ts';
import { buildZones, type ZoneName, zoneName, type ZoneRules, zonesSchema } from './zones.ts';

const agentId = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case id (a-z, 0-9, -)');
const jurisdiction = z.string().regex(/^[A-Z]{2}(-[A-Z]{2})?$/, 'expected a jurisdiction code such as SG or EU-DE');

const UNIT_SECONDS = { '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const;

/** '900', '30m', '1h', '7d' in seconds, or undefined when the text is none of these. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** Seconds in the largest unit that divides them evenly: 86400 → '1d', 5400 → '90m'. */
export function formatDuration(seconds: number): string {
  const unit = (['d', 'h', 'm'] as const).find((u) => seconds >= UNIT_SECONDS[u] && seconds % UNIT_SECONDS[u] === 0);
  return unit ? `${seconds / UNIT_SECONDS[unit]}${unit}` : `${seconds}s`;
}

/** No token may live longer than this, whatever a role is configured with. */
export const LONGEST_TOKEN_LIFETIME_SECONDS = 30 * 86400;

/** A duration in the file (seconds, or '30m', '8h', '1d'), as whole seconds within [least, most]. */
function durationWithin(least: number, most: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const seconds = typeof value === 'number' ? value : durationSeconds(value);
    if (seconds === undefined || !Number.isInteger(seconds) || seconds < least || seconds > most) {
      ctx.addIssue({ code: 'custom', message: `expected a duration from ${formatDuration(least)} to ${formatDuration(most)}, e.g. 900, 30m, 8h, 1d` });
      return z.NEVER;
    }
    return seconds;
  });
}

const tokenLifetime = durationWithin(60, LONGEST_TOKEN_LIFETIME_SECONDS);

/**
 * How long the broker accepts a token (exp − iat), per kind of holder and per agent role, and how far the
 * issuer's clock may run ahead of the broker's. Omitted fields take the defaults: agents 24h, officers 8h
 * (a person's session is shorter than an unattended program's), 60s of skew.
 */
const tokenRulesSchema = z
  .strictObject({
    clockSkew: durationWithin(0, 300).default(60),
    /** How far a DPoP proof's `iat` may be from the broker's clock, either way (docs/identity.md). */
    dpopProofWindow: durationWithin(5, 300).default(60),
    maxLifetime: z
      .strictObject({
        agents: tokenLifetime.default(24 * 3600),
        officers: tokenLifetime.default(8 * 3600),
        roles: z.record(z.string(), tokenLifetime).default({}),
      })
      .prefault({}),
  })
  .prefault({});

/** The token rules in whole seconds. */
export type TokenRules = z.output<typeof tokenRulesSchema>;

/**
 * Requests and rows returned an agent may have per minute, shared by every broker (docs/agent-controls.md). A limit
 * always applies: an agent that declares none, or only one of the two, gets DEFAULT_RATE_LIMIT's.
 */
export const DEFAULT_RATE_LIMIT = { requestsPerMinute: 600, rowsPerMinute: 20_000 } as const;

const rateLimitSchema = z
  .strictObject({
    requestsPerMinute: z.number().int().min(1).max(1_000_000).default(DEFAULT_RATE_LIMIT.requestsPerMinute),
    rowsPerMinute: z.number().int().min(1).max(1_000_000_000).default(DEFAULT_RATE_LIMIT.rowsPerMinute),
  })
  .prefault({});

export type RateLimit = z.output<typeof rateLimitSchema>;

export const agentsFileSchema = z.strictObject({
  tokens: tokenRulesSchema,
  purposes: z.record(z.string(), z.string()),
  roles: z.record(z.string(), z.string()),
  agents: z.record(
    agentId,
    z.strictObject({
      description: z.string(),
      role: z.string(),
      purposes: z.array(z.string()).min(1),
      location: jurisdiction,
      serves: z.array(jurisdiction).default([]),
      transferBases: z.record(jurisdiction, z.array(z.string())).default({}),
      /** The zone the steward asks for; an agent that names none is a sandbox one (fail closed). */
      zone: zoneName.default('sandbox'),
      rateLimit: rateLimitSchema,
      /** Its tokens are accepted only with a DPoP proof of their key (RFC 9449), never as bearer tokens. */
      requireDpop: z.boolean().default(false),
    }),
  ),
  officers: z.record(agentId, z.strictObject({ description: z.string(), jurisdictions: z.array(jurisdiction), requireDpop: z.boolean().default(false) })),
  zones: zonesSchema,
});

export interface AgentDefinition {
  id: string;
  description: string;
  role: string;
  purposes: readonly string[];
  location: string;
  serves: readonly string[];
  transferBases: Readonly<Record<string, readonly string[]>>;
  /** The zone agents.yaml asks for; the zone in force is an officer's to approve (src/agent-controls/zones). */
  zone: ZoneName;
  rateLimit: RateLimit;
  /** Its tokens need a DPoP proof (src/identity/dpop-gate.ts). */
  requireDpop: boolean;
}

export interface OfficerDefinition {
  id: string;
  description: string;
  jurisdictions: readonly string[];
  requireDpop: boolean;
}

export interface AgentRegistry {
  purposes: ReadonlyMap<string, string>;
  roles: ReadonlyMap<string, string>;
  agents: ReadonlyMap<string, AgentDefinition>;
  officers: ReadonlyMap<string, OfficerDefinition>;
  tokens: TokenRules;
  zones: Readonly<Record<ZoneName, ZoneRules>>;
  /** The identity providers whose tokens name these agents (schema/issuers.yaml); none unless the project loader adds them. */
  issuers: TrustedIssuers;
}

export function buildAgentRegistry(source: YamlSource): AgentRegistry {
  const file = source.parse(agentsFileSchema);
  const { zones, issues } = buildZones(source, file.zones);
  const roles = Object.keys(file.roles);
  for (const [id, agent] of Object.entries(file.agents)) {
    if (!file.roles[agent.role]) issues.push(source.issue(['agents', id, 'role'], unknownChoice('role', agent.role, roles)));
    agent.purposes.forEach((purpose, i) => {
      if (!file.purposes[purpose]) issues.push(source.issue(['agents', id, 'purposes', i], unknownChoice('purpose', purpose, Object.keys(file.purposes))));
    });
    if (file.officers[id]) issues.push(source.issue(['officers', id], `"${id}" is already an agent: officers are never agents`));
  }
  for (const role of Object.keys(file.tokens.maxLifetime.roles)) {
    if (!file.roles[role]) issues.push(source.issue(['tokens', 'maxLifetime', 'roles', role], unknownChoice('role', role, roles)));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    purposes: new Map(Object.entries(file.purposes)),
    roles: new Map(Object.entries(file.roles)),
    agents: new Map(Object.entries(file.agents).map(([id, agent]) => [id, { id, ...agent }])),
    officers: new Map(Object.entries(file.officers).map(([id, officer]) => [id, { id, ...officer }])),
    tokens: file.tokens,
    zones,
    issuers: { resource: null, byIssuer: new Map(), dpopRequired: false },
  };
}
