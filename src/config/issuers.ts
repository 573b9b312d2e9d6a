import { z } from 'zod';
import { durationSeconds, formatDuration, LONGEST_TOKEN_LIFETIME_SECONDS } from './agents.ts';
import { ConfigError, YamlSource } from './yaml-source.ts';

/**
 * Signature algorithms a trusted issuer's tokens may use: asymmetric only. `none` proves nothing, and an HMAC
 * algorithm verified with the issuer's public key lets anyone who read that key sign (algorithm confusion).
 */
export const ISSUER_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;
export type IssuerAlgorithm = (typeof ISSUER_ALGORITHMS)[number];

/** Which claim of an issuer's token names the agent (the OAuth client): RFC 9068 `client_id`, OIDC `azp`, or `sub`. */
export const AGENT_CLAIMS = ['client_id', 'azp', 'sub'] as const;

function duration(least: number, most: number, fallback: number) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const seconds = typeof value === 'number' ? value : durationSeconds(value);
      if (seconds === undefined || !Number.isInteger(seconds) || seconds < least || seconds > most) {
        ctx.addIssue({ code: 'custom', message: `expected a duration from ${formatDuration(least)} to ${formatDuration(most)}, e.g. 0, 30s, 10m, 1h` });
        return z.NEVER;
      }
      return seconds;
    })
    .default(fallback);
}

const httpsOrLocalUrl = z.url({ protocol: /^https?$/ }).refine((text) => {
  const url = new URL(text);
  return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}, 'expected an https:// URL (http:// only for localhost)');

/**
 * Where a token says its purpose: a claim holding a space-separated string (OAuth `scope`) or an array of strings
 * (Entra ID `roles`), of which exactly one item starts with `prefix`; the rest of that item is the purpose.
 */
const purposeSourceSchema = z.strictObject({ claim: z.string().min(1).default('scope'), prefix: z.string().default('purpose:') }).prefault({});

const issuerSchema = z.strictObject({
  /** The issuer identifier, exactly as its tokens' `iss` and its discovery document say it. */
  issuer: httpsOrLocalUrl,
  /** Where its keys are; without it, `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  jwksUri: httpsOrLocalUrl.optional(),
  algorithms: z.array(z.enum(ISSUER_ALGORITHMS)).min(1).default(['ES256', 'RS256']),
  /** The `aud` its tokens must carry; defaults to the broker's resource identifier. */
  audience: z.string().min(1).optional(),
  agentClaim: z.enum(AGENT_CLAIMS).default('client_id'),
  /** Agent-claim values that are not agent ids (Entra ID's client GUIDs), each to the agent in agents.yaml it names. */
  agents: z.record(z.string().min(1), z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected an agent id from schema/agents.yaml')).default({}),
  purpose: purposeSourceSchema,
  maxLifetime: duration(60, LONGEST_TOKEN_LIFETIME_SECONDS, 3600),
  clockSkew: duration(0, 300, 60),
  /** The shortest wait between two fetches of its keys for a key id not seen yet (a flood of made-up kids fetches once). */
  keyRefreshCooldown: duration(0, 300, 30),
  /** How long fetched keys are used before they are fetched again: a key the issuer withdraws stops verifying after this. */
  keysMaxAge: duration(0, 86400, 600),
});

export const issuersFileSchema = z.strictObject({
  /** The broker's resource identifier (RFC 8707/9728): the audience tokens are issued for. KEYHOLE_RESOURCE overrides it. */
  resource: httpsOrLocalUrl.optional(),
  issuers: z.array(issuerSchema).default([]),
  /** Whether every token must be DPoP-bound; published in the protected-resource metadata. */
  dpop: z.strictObject({ required: z.boolean().default(false) }).prefault({}),
});

export type TrustedIssuer = z.output<typeof issuerSchema> & { audience: string };

/** The identity providers whose tokens name agents, by issuer identifier. */
export interface TrustedIssuers {
  resource: string | null;
  byIssuer: ReadonlyMap<string, TrustedIssuer>;
  dpopRequired: boolean;
}

export const NO_TRUSTED_ISSUERS: TrustedIssuers = { resource: null, byIssuer: new Map(), dpopRequired: false };

export const ISSUERS_FILE = 'schema/issuers.yaml';

/**
 * Validates the issuers (from schema/issuers.yaml or KEYHOLE_ISSUERS, the same shape as JSON) and fills each
 * audience in with the resource identifier, which KEYHOLE_RESOURCE sets when given.
 */
export function buildTrustedIssuers(source: YamlSource, resourceOverride?: string): TrustedIssuers {
  const file = source.parse(issuersFileSchema);
  const resource = resourceOverride || file.resource || null;
  const issues = [];
  const byIssuer = new Map<string, TrustedIssuer>();
  for (const [i, issuer] of file.issuers.entries()) {
    const audience = issuer.audience ?? resource;
    if (!audience) {
      issues.push(
        source.issue(
          ['issuers', i, 'audience'],
          'no audience: set `resource:` (the broker’s resource identifier), KEYHOLE_RESOURCE, or this issuer’s `audience:`',
        ),
      );
      continue;
    }
    if (byIssuer.has(issuer.issuer)) issues.push(source.issue(['issuers', i, 'issuer'], `"${issuer.issuer}" is listed twice`));
    byIssuer.set(issuer.issuer, { ...issuer, audience });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { resource, byIssuer, dpopRequired: file.dpop.required };
}

/** KEYHOLE_ISSUERS (JSON, issues located in it like a file's) or else the YAML file's text, or no trusted issuers. */
export function trustedIssuersFrom(fileText: string | null, env: NodeJS.ProcessEnv): TrustedIssuers {
  const resource = env.KEYHOLE_RESOURCE;
  // JSON is YAML, so one parser locates issues in both.
  if (env.KEYHOLE_ISSUERS) return buildTrustedIssuers(new YamlSource('KEYHOLE_ISSUERS', env.KEYHOLE_ISSUERS), resource);
  if (fileText !== null) return buildTrustedIssuers(new YamlSource(ISSUERS_FILE, fileText), resource);
  return resource ? { ...NO_TRUSTED_ISSUERS, resource } : NO_TRUSTED_ISSUERS;
}
